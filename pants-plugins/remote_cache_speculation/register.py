"""Wait for the remote cache's answer before running a cacheable process locally.

Pants 2.17 races every remote-cache lookup against a local run of the same process: the local run
starts `Process.remote_cache_speculation_delay_millis` after the lookup, a field that defaults to 0
and has no option (only the JVM backend sets it). With 0, a fresh clone reading a warm cache starts
processes it then gets from the cache anyway (requirement pexes, npm installs), which costs CPU and
makes Pants fetch their inputs. See docs/remote-cache.md.

This backend raises the default for every process that does not set its own to the lookup's own
time limit (`remote_cache_rpc_timeout_millis`, 1500 ms by default): a process runs locally once
the cache has answered "miss", failed (no server: at once), or given up. Only a server that
accepts connections and then stalls makes processes wait, up to that limit each. Processes that
Pants never looks up remotely (binary and interpreter discovery) are not affected.
"""

from __future__ import annotations

from pants.engine.process import Process

REMOTE_CACHE_SPECULATION_DELAY_MILLIS = 1500

# A keyword-only argument of `Process.__init__`: callers that pass their own value keep it.
_defaults = Process.__init__.__kwdefaults__ or {}
if "remote_cache_speculation_delay_millis" not in _defaults:
    raise RuntimeError(
        "pants-plugins/remote_cache_speculation: this Pants' Process has no "
        "remote_cache_speculation_delay_millis default; remove the backend from pants.toml."
    )
_defaults["remote_cache_speculation_delay_millis"] = REMOTE_CACHE_SPECULATION_DELAY_MILLIS
