//go:build tools

// Package tools pins the MinIO server command so `go mod tidy` records its dependencies.
package tools

import _ "github.com/minio/minio"
