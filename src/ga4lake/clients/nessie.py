"""A small typed client for Nessie's REST API v2: the branch operations write–audit–publish needs.

Nessie's Spark SQL extensions do not exist for Spark 4.1 (and pynessie is unmaintained), so branches
are created, merged, reset and deleted here, over HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from ga4lake.errors import Ga4lakeError


class NessieError(Ga4lakeError, RuntimeError):
    """An unexpected answer from Nessie."""

    def __init__(self, message: str, status: int | None = None, payload: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.payload = payload


class NessieNotFound(NessieError):
    """The reference or commit does not exist."""


class NessieConflict(NessieError):
    """The reference moved, already exists, or a merge conflicts."""


@dataclass(frozen=True)
class Reference:
    name: str
    hash: str
    type: str = "BRANCH"


@dataclass(frozen=True)
class Commit:
    hash: str
    message: str
    commit_time: str
    author: str = ""
    properties: dict[str, str] = field(default_factory=dict)
    parent_hashes: tuple[str, ...] = ()


#: Hash of the empty repository (the parent of every first commit).
NO_ANCESTOR = "2e1cfa82b035c26cbbbdae632cea070514eb8b773f616aaeaf668e2f0be8f10d"


class NessieClient:
    def __init__(self, api_url: str, timeout: float = 30.0, session: requests.Session | None = None) -> None:
        self.api = api_url.rstrip("/")
        self.timeout = timeout
        self.http = session or requests.Session()

    # ---- plumbing ------------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.api}/{path.lstrip('/')}"
        try:
            resp = self.http.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise NessieError(f"Nessie not reachable at {self.api}: {exc}") from exc
        if resp.status_code < 300:
            return resp.json() if resp.content else None
        try:
            payload = resp.json()
            detail = payload.get("message") or payload
        except ValueError:
            payload, detail = None, resp.text[:300]
        msg = f"{method} {path}: HTTP {resp.status_code}: {detail}"
        if resp.status_code == 404:
            raise NessieNotFound(msg, resp.status_code, payload)
        if resp.status_code == 409:
            raise NessieConflict(msg, resp.status_code, payload)
        raise NessieError(msg, resp.status_code, payload)

    @staticmethod
    def _ref(name: str, hash_: str | None = None) -> str:
        return quote(name if hash_ is None else f"{name}@{hash_}", safe="")

    @staticmethod
    def _reference(data: dict[str, Any]) -> Reference:
        return Reference(name=data["name"], hash=data.get("hash") or "", type=data.get("type", "BRANCH"))

    # ---- references ----------------------------------------------------------------------------
    def default_branch(self) -> str:
        return self._call("GET", "config").get("defaultBranch", "main")

    def list_references(self) -> list[Reference]:
        return [self._reference(r) for r in self._call("GET", "trees").get("references", [])]

    def get_reference(self, name: str) -> Reference:
        return self._reference(self._call("GET", f"trees/{self._ref(name)}")["reference"])

    def has_reference(self, name: str) -> bool:
        try:
            self.get_reference(name)
            return True
        except NessieNotFound:
            return False

    def create_branch(self, name: str, from_ref: str = "main", from_hash: str | None = None) -> Reference:
        source = self.get_reference(from_ref)
        body = {"type": source.type, "name": source.name, "hash": from_hash or source.hash}
        data = self._call("POST", "trees", params={"name": name, "type": "BRANCH"}, json=body)
        return self._reference(data["reference"])

    def delete_branch(self, name: str) -> None:
        ref = self.get_reference(name)
        self._call("DELETE", f"trees/{self._ref(name, ref.hash)}")

    def merge(
        self,
        source: str,
        target: str = "main",
        message: str | None = None,
        properties: dict[str, str] | None = None,
    ) -> Reference:
        """Merge every commit of ``source`` into ``target`` atomically; returns the new target head."""
        src = self.get_reference(source)
        tgt = self.get_reference(target)
        body: dict[str, Any] = {"fromRefName": src.name, "fromHash": src.hash}
        if message or properties:
            body["commitMeta"] = {
                "message": message or f"merge {source} into {target}",
                "properties": properties or {},
            }
            body["message"] = body["commitMeta"]["message"]
        data = self._call("POST", f"trees/{self._ref(tgt.name, tgt.hash)}/history/merge", json=body)
        if data and data.get("wasSuccessful") is False:
            raise NessieConflict(f"merge of {source} into {target} failed: {data}", 409, data)
        return self.get_reference(target)

    def assign(self, name: str, to_hash: str, to_ref: str | None = None) -> Reference:
        """Point branch ``name`` at commit ``to_hash`` (reachable from ``to_ref``, default the branch itself)."""
        current = self.get_reference(name)
        body = {"type": "BRANCH", "name": to_ref or name, "hash": to_hash}
        self._call("PUT", f"trees/{self._ref(name, current.hash)}", json=body)
        return self.get_reference(name)

    # ---- history -------------------------------------------------------------------------------
    def log(self, ref: str = "main", limit: int = 50) -> list[Commit]:
        commits: list[Commit] = []
        token: str | None = None
        while len(commits) < limit:
            params: dict[str, Any] = {"max-records": min(limit - len(commits), 250)}
            if token:
                params["page-token"] = token
            data = self._call("GET", f"trees/{self._ref(ref)}/history", params=params)
            for entry in data.get("logEntries", []):
                meta = entry["commitMeta"]
                commits.append(
                    Commit(
                        hash=meta["hash"],
                        message=meta.get("message", ""),
                        commit_time=meta.get("commitTime", ""),
                        author=meta.get("author", ""),
                        properties=dict(meta.get("properties") or {})
                        | {k: v[-1] for k, v in (meta.get("allProperties") or {}).items() if v},
                        parent_hashes=tuple(
                            entry.get("parentCommitHash")
                            and [entry["parentCommitHash"]]
                            or meta.get("parentCommitHashes", [])
                        ),
                    )
                )
            token = data.get("token")
            if not data.get("hasMore") or not token:
                break
        return commits[:limit]

    def ensure_namespaces(self, names: tuple[str, ...], branch: str = "main") -> None:
        """Create missing top-level namespaces in one commit (also gives an empty repository its first commit,
        which Nessie needs as the common ancestor of later merges)."""
        existing = set(self.contents_keys(branch))
        missing = [n for n in names if n not in existing]
        if not missing:
            return
        head = self.get_reference(branch)
        body = {
            "commitMeta": {"message": f"ga4lake: create namespaces {', '.join(missing)}"},
            "operations": [
                {"type": "PUT", "key": {"elements": [n]}, "content": {"type": "NAMESPACE", "elements": [n]}}
                for n in missing
            ],
        }
        self._call("POST", f"trees/{self._ref(branch, head.hash)}/history/commit", json=body)

    def metadata_location(self, ref: str, key: str) -> str | None:
        """The Iceberg metadata file a table (``namespace.table``) points to on ``ref``; None if absent.
        A merge carries it over unchanged, so it identifies the table's content across branches."""
        try:
            data = self._call("GET", f"trees/{self._ref(ref)}/contents/{quote(key, safe='')}")
        except NessieNotFound:
            return None
        return (data.get("content") or {}).get("metadataLocation")

    def contents_keys(self, ref: str = "main") -> list[str]:
        data = self._call("GET", f"trees/{self._ref(ref)}/entries")
        return [".".join(e["name"]["elements"]) for e in data.get("entries", [])]

    def table_keys(self, ref: str = "main") -> list[str]:
        """``namespace.table`` of every Iceberg table on ``ref``."""
        data = self._call("GET", f"trees/{self._ref(ref)}/entries")
        return sorted(
            ".".join(e["name"]["elements"])
            for e in data.get("entries", [])
            if e.get("type") == "ICEBERG_TABLE"
        )
