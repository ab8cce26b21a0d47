// Every metric the worker exports, declared in one place (sorted by name).
//
//   inferline_engine_batch_size                  gauge, sequences the backend is generating now
//   inferline_queue_wait_seconds                 histogram, from acceptance (created_at) to the
//                                                worker taking the request
//   inferline_time_to_first_token_seconds        histogram, from acceptance to the first
//                                                generated token
//   inferline_worker_in_flight                   gauge, requests this worker holds
//   inferline_worker_requests_total{model,status} counter, how requests left the worker:
//                                                completed|failed|cancelled|expired (a result was
//                                                published), dropped (already terminal),
//                                                requeued (given back on shutdown or error),
//                                                abandoned (lease lost), rejected (unparseable)
//   ml_processing_seconds{model}                 histogram, generation time per request
//   ml_requests_total{model}                     counter, requests the model generated for
//   ml_tokens_processed_total{type,model}        counter, tokens the model processed;
//                                                type = prompt | completion
//
// The ml_* names are the original system's (its KEDA and Grafana setup use them); the
// collector does not count them again.
//
// Thread-safety: the referenced metrics are thread-safe.
#pragma once

#include <string_view>

#include "common/metrics.h"

namespace inferline::worker {

struct WorkerMetrics {
  explicit WorkerMetrics(metrics::Registry& registry);

  metrics::Gauge& engine_batch_size;
  metrics::Histogram& queue_wait_seconds;
  metrics::Histogram& time_to_first_token_seconds;
  metrics::Gauge& in_flight;
  metrics::CounterFamily& requests_total;
  metrics::HistogramFamily& processing_seconds;
  metrics::CounterFamily& ml_requests_total;
  metrics::CounterFamily& tokens_processed_total;
};

}  // namespace inferline::worker
