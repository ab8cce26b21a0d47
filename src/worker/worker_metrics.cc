#include "worker/worker_metrics.h"

namespace inferline::worker {

WorkerMetrics::WorkerMetrics(metrics::Registry& r)
    : engine_batch_size(
          r.AddGauge("inferline_engine_batch_size", "Sequences the backend is generating now")
              .Get()),
      queue_wait_seconds(r.AddHistogram("inferline_queue_wait_seconds",
                                        "Time from acceptance until a worker took the request")
                             .Get()),
      time_to_first_token_seconds(
          r.AddHistogram("inferline_time_to_first_token_seconds",
                         "Time from acceptance until the first generated token")
              .Get()),
      in_flight(r.AddGauge("inferline_worker_in_flight", "Requests a worker holds").Get()),
      requests_total(r.AddCounter("inferline_worker_requests_total",
                                  "Requests that left a worker, by outcome", {"model", "status"})),
      processing_seconds(r.AddHistogram("ml_processing_seconds",
                                        "Generation time per request", {"model"})),
      ml_requests_total(
          r.AddCounter("ml_requests_total", "Requests the model generated for", {"model"})),
      tokens_processed_total(r.AddCounter("ml_tokens_processed_total",
                                          "Tokens processed by the model", {"type", "model"})) {}

}  // namespace inferline::worker
