// The PromQL behind Home: RED per service over the SDK's own metric
// (tripod.catalog.HTTP_SERVER_REQUEST_DURATION: http_server_request_duration_seconds, a
// histogram with http_request_method, http_route, http_response_status_code). A service is the
// `job` label: the scrape job, or `service.namespace/service.name` for OTLP metrics.
export const METRIC = "http_server_request_duration_seconds";
export const SERVICE_LABEL = "job";
const COUNT = `${METRIC}_count`;
const BUCKET = `${METRIC}_bucket`;
const ERRORS = `${COUNT}{http_response_status_code=~"5.."}`;

export const RATE = `sum by (${SERVICE_LABEL}) (rate(${COUNT}[5m]))`;
/** Error ratio; a service without any 5xx gets 0, not "no data". */
export const ERROR_RATIO =
  `(sum by (${SERVICE_LABEL}) (rate(${ERRORS}[5m])) or ${RATE} * 0) / ${RATE}`;
export const P95 = `histogram_quantile(0.95, sum by (${SERVICE_LABEL}, le) (rate(${BUCKET}[5m])))`;

/** What a service's name is in traces and logs: OTLP's `job` is "namespace/name". */
export function serviceName(job: string): string {
  return job.slice(job.lastIndexOf("/") + 1);
}
