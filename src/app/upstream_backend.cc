#include "app/upstream_backend.h"

#include "common/log.h"
#include "worker/openai_upstream_backend.h"

namespace inferline::app {

Result<std::shared_ptr<worker::ModelBackend>> MakeUpstreamBackend(const ClusterOptionValues& v) {
  worker::OpenAIUpstreamOptions o;
  o.base_url = v.upstream_url;
  o.api_key = v.upstream_api_key;
  o.model = v.upstream_model;
  o.max_concurrency = static_cast<int>(v.upstream_max_concurrency);
  Result<std::unique_ptr<worker::OpenAIUpstreamBackend>> b =
      worker::OpenAIUpstreamBackend::Create(o);
  if (!b.ok()) return b.status().Annotate("worker.upstream");
  log::Info("backend: OpenAI-compatible upstream {} ({} requests at once)", v.upstream_url,
            o.max_concurrency);
  return std::shared_ptr<worker::ModelBackend>(std::move(*b));
}

}  // namespace inferline::app
