"""What Lambda's Python runtime gives a function besides its code: the defined runtime environment
variables, and the trace header of a sampled invocation (``Tracing: Active``).

Whatever runs a handler as Lambda would (the artifact smoke test, the cold-start benchmark, the tracing
contract test) takes its environment from here. ``LAMBDA_TASK_ROOT`` matters beyond form: the X-Ray SDK
tells Lambda by it, and outside Lambda it builds a sampler that polls X-Ray through a botocore client of
its own, which Lambda never does.
"""

from __future__ import annotations

import os
import secrets
import time

RUNTIME = "python3.12"  # template.yaml's Runtime
# Where nothing listens, unless a caller gives its own X-Ray daemon: a segment sent there is dropped.
NO_DAEMON = "127.0.0.1:2000"


def new_trace_root() -> str:
    """A new X-Ray trace id (the Root of a trace header)."""
    return f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def sampled_trace_header(root: str | None = None) -> str:
    """``_X_AMZN_TRACE_ID`` as Lambda sets it for one invocation that X-Ray samples."""
    return f"Root={root or new_trace_root()};Parent={secrets.token_hex(8)};Sampled=1"


def aws_environment(region: str = "us-east-1") -> dict[str, str]:
    """What Lambda gives a function's process for AWS besides its runtime variables: a region and
    credentials in the environment (dummies here: every call goes to the embedded services), and no config
    or credentials file to read."""
    return {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def lambda_environment(
    function_name: str, code_dir: str, *, memory_mb: int = 128, daemon: str = NO_DAEMON
) -> dict[str, str]:
    """Lambda's defined runtime variables for ``function_name``, its code unpacked at ``code_dir``, in an
    on-demand environment whose invocation is sampled."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "local",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{RUNTIME}",
        "LAMBDA_TASK_ROOT": code_dir,
        "TZ": ":UTC",
        "_X_AMZN_TRACE_ID": sampled_trace_header(),
        "AWS_XRAY_DAEMON_ADDRESS": daemon,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    }
