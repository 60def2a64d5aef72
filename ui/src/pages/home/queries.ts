// The PromQL behind Home: RED per service over the SDK's own metric
// (tripod.catalog.HTTP_SERVER_REQUEST_DURATION: http_server_request_duration_seconds, a
// histogram with http_request_method, http_route, http_response_status_code). A service is the
// `job` label: the scrape job, or `service.namespace/service.name` for OTLP metrics.
export const METRIC = "http_server_request_duration_seconds";
export const SERVICE_LABEL = "job";
const COUNT = `${METRIC}_count`;
const BUCKET = `${METRIC}_bucket`;
const ERROR_SERIES = `${COUNT}{http_response_status_code=~"5.."}`;

/** Requests per second per service (the sparkline's range query; its last point is the rate). */
export const RATE = `sum by (${SERVICE_LABEL}) (rate(${COUNT}[5m]))`;
/** 5xx per second per service; the error ratio is ERRORS / RATE, computed in the page (a
 * service without 5xx is absent here: ratio 0). One rate over the 5xx series only, rather than
 * a PromQL ratio that would compute the rate of every series two more times. */
export const ERRORS = `sum by (${SERVICE_LABEL}) (rate(${ERROR_SERIES}[5m]))`;
export const P95 = `histogram_quantile(0.95, sum by (${SERVICE_LABEL}, le) (rate(${BUCKET}[5m])))`;

/** What a service's name is in traces and logs: OTLP's `job` is "namespace/name". */
export function serviceName(job: string): string {
  return job.slice(job.lastIndexOf("/") + 1);
}

/** The same figures as recorded by the rules `tripod generate` writes (src/tripod/codegen/
 * _red.py): when they exist, Home reads one series per service instead of every raw series. */
export const RECORDED_ERRORS = "job:http_server_request_errors:rate5m";
export const RECORDED_P95 = "job:http_server_request_duration_seconds:p95_rate5m";
