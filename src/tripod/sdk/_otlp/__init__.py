"""OTLP/HTTP protobuf export without the protobuf runtime: a wire encoder and a sender.

The export thread encodes tripod's own records (and the SDK's spans) straight into request
bodies (``encode``) and posts them over one kept-alive connection (``_send``). Why tripod has
its own encoder rather than opentelemetry-proto's classes is measured in docs/benchmarks.md.
"""

from tripod.sdk._otlp._send import OtlpHttpSender
from tripod.sdk._otlp.encode import LogItem, encode_logs, encode_spans

__all__ = ["LogItem", "OtlpHttpSender", "encode_logs", "encode_spans"]
