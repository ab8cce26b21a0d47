// The options of the distributed subcommands (`inferline gateway`, `worker`, `collector`,
// `migrate`). All four declare the SAME set, so one configuration file (a Kubernetes ConfigMap)
// and one set of INFERLINE_* variables serve every process; each uses what concerns it.
//
//   everything `serve` takes except data.dir (model.*, engine.*, defaults.*, quota.*, limits.*,
//   http.cors_origins, sse.*, auth.*, gateway.*; see serve_options.h), and:
//   rabbitmq.url                 amqp://user:pass@host:5672/vhost (secret)
//   rabbitmq.max_deliveries      deliveries before a request is dead-lettered
//   rabbitmq.max_length          ready requests per model queue before the gateway answers 503
//   rabbitmq.queue_prefix        prepended to every queue and exchange name (several
//                                deployments or test suites on one vhost)
//   postgres.url                 postgresql://user:pass@host:5432/db (secret)
//   postgres.pool_size           sessions per process
//   redis.url                    redis://[:password@]host:6379[/db] (secret)
//   quota.fail_open              accept requests unmetered while Redis is unreachable
//   admin.key                    the admin API key (secret; a Kubernetes Secret); the gateway
//                                makes sure it exists
//   worker.upstream.url          forward generation to an OpenAI-compatible server instead of
//                                running the model (e.g. http://vllm:8000/v1)
//   worker.upstream.api_key, worker.upstream.model, worker.upstream.max_concurrency
//   collector.threads            result consumers
//
// Thread-safety: used on the main thread before any work starts.
#pragma once

#include <cstdint>
#include <string>

#include "app/serve_options.h"
#include "common/config.h"

namespace inferline::app {

struct ClusterOptionValues {
  ServeOptionValues serve;  // the gateway and engine options `serve` has too
  std::string rabbitmq_url;
  int64_t rabbitmq_max_deliveries = 3;
  int64_t rabbitmq_max_length = 100'000;
  std::string rabbitmq_queue_prefix;
  std::string postgres_url;
  int64_t postgres_pool_size = 8;
  int64_t postgres_writers = 1;
  std::string redis_url;
  bool quota_fail_open = false;
  std::string admin_key;
  std::string upstream_url;
  std::string upstream_api_key;
  std::string upstream_model;
  int64_t upstream_max_concurrency = 16;
  int64_t collector_threads = 2;
};

void DeclareClusterOptions(config::Config& cfg, ClusterOptionValues& v);

}  // namespace inferline::app
