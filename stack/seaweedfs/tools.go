//go:build tools

// Package tools pins the SeaweedFS command so `go mod tidy` records its dependencies.
package tools

import _ "github.com/seaweedfs/seaweedfs/weed"
