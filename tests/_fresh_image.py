"""An image only the test registry has: one layer of random bytes, pushed
and then removed from the daemon, so that pulling it downloads and
extracts a layer (per-layer progress), which an image whose layers the
daemon already holds would not ("Already exists", or no layer lines)."""

from __future__ import annotations

import io
import os
import tarfile
import uuid


def layer_tar(size: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = os.urandom(size)  # incompressible: the download takes several updates
        info = tarfile.TarInfo("payload.bin")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def push_fresh_image(client, registry, *, size: int = 3 << 20) -> str:
    """``<registry>/protocol/fresh:<uid>``, in the registry and not in the daemon."""
    repo, tag = f"{registry.host}/protocol/fresh", uuid.uuid4().hex[:12]
    auth = {"username": registry.username, "password": registry.password, "serveraddress": registry.host}
    tar = layer_tar(size)
    client.progress(client.call("images.create", from_src="-", repo=repo, tag=tag,
                                body=iter([tar[i:i + 65536] for i in range(0, len(tar), 65536)]),
                                headers={"Content-Type": "application/x-tar"}))
    ref = f"{repo}:{tag}"
    client.push(ref, auth=auth)
    client.call("images.remove", name=ref, force=True)
    return ref
