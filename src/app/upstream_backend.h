// The worker's OpenAI-compatible upstream backend (worker/openai_upstream_backend.h) from the
// distributed options: worker.upstream.url, .api_key, .model and .max_concurrency.
//
// Thread-safety: called on the main thread at start-up.
#pragma once

#include <memory>

#include "app/cluster_options.h"
#include "common/status.h"
#include "worker/model_backend.h"

namespace inferline::app {

[[nodiscard]] Result<std::shared_ptr<worker::ModelBackend>> MakeUpstreamBackend(
    const ClusterOptionValues& v);

}  // namespace inferline::app
