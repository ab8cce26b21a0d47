#include "app/cluster_options.h"

namespace inferline::app {

void DeclareClusterOptions(config::Config& cfg, ClusterOptionValues& v) {
  DeclarePlanOptions(cfg, v.serve);
  // Blocking calls here wait on the network (a Redis script, a PostgreSQL group commit), not on
  // a local disk: more of them in flight keep the group commits full. Measured with
  // bench/distributed/run.sh, medians of 4 and 6 runs: 1,340 accepted/s with 16, 1,600 with 64.
  v.serve.blocking_threads = 64;
  DeclareServeOptions(cfg, v.serve);
  cfg.Secret("rabbitmq.url", &v.rabbitmq_url,
             "RabbitMQ: amqp://user:pass@host:5672/vhost (default amqp://guest:guest@127.0.0.1:5672/)");
  cfg.Int("rabbitmq.max_deliveries", &v.rabbitmq_max_deliveries, 3, 1, 1000,
          "Deliveries of a request before it is dead-lettered and fails");
  cfg.Int("rabbitmq.max_length", &v.rabbitmq_max_length, 100'000, 1, 1'000'000'000,
          "Ready requests per model queue; past it the gateway answers 503 with Retry-After");
  cfg.String("rabbitmq.queue_prefix", &v.rabbitmq_queue_prefix, "",
             "Prepended to every RabbitMQ queue and exchange name, so that several deployments "
             "can share one vhost (every process of a deployment needs the same prefix)");
  cfg.Secret("postgres.url", &v.postgres_url,
             "PostgreSQL: postgresql://user:pass@host:5432/db (or a libpq key=value string)");
  cfg.Int("postgres.pool_size", &v.postgres_pool_size, 8, 1, 1024,
          "PostgreSQL sessions for reads per process");
  cfg.Int("postgres.writers", &v.postgres_writers, 1, 1, 64,
          "PostgreSQL sessions that group-commit request writes (accepts, starts, results); "
          "each commits whatever queued while its last transaction ran");
  cfg.Secret("redis.url", &v.redis_url,
             "Redis for quotas and events: redis://[:password@]host:6379[/db] (default "
             "redis://127.0.0.1:6379)");
  cfg.Bool("quota.fail_open", &v.quota_fail_open, false,
           "While Redis is unreachable, accept requests without metering them (default: refuse "
           "with 503)");
  cfg.Secret("admin.key", &v.admin_key,
             "Admin API key (sk-il-...); the gateway makes sure it exists. Without it, the first "
             "gateway creates one and writes it to admin.key_file");
  cfg.String("worker.upstream.url", &v.upstream_url, "",
             "Forward generation to this OpenAI-compatible server (e.g. http://vllm:8000/v1) "
             "instead of running the model",
             "--upstream");
  cfg.Secret("worker.upstream.api_key", &v.upstream_api_key,
             "Bearer token for the upstream server");
  cfg.String("worker.upstream.model", &v.upstream_model, "",
             "The upstream's model name (default: the request's model)");
  cfg.Int("worker.upstream.max_concurrency", &v.upstream_max_concurrency, 16, 1, 100'000,
          "Requests in flight to the upstream at once");
  cfg.Int("collector.threads", &v.collector_threads, 2, 1, 256, "Result consumer threads");
}

}  // namespace inferline::app
