#include "engine/batching/batch_plan.h"

#include <algorithm>

namespace inferline::engine {

std::vector<PlannedStep> PlanBatch(std::span<const int64_t> prompt_left, BatchPlanLimits limits) {
  std::vector<PlannedStep> plan;
  int64_t used = 0;
  for (size_t i = 0; i < prompt_left.size(); ++i) {
    if (prompt_left[i] == 0) {
      plan.push_back({i, 1});
      ++used;
    }
  }
  const int64_t chunk = std::max<int64_t>(1, limits.prefill_chunk_tokens);
  for (size_t i = 0; i < prompt_left.size(); ++i) {
    const int64_t budget = limits.max_batch_tokens - used;
    if (budget <= 0) break;
    if (prompt_left[i] == 0) continue;
    const int64_t n = std::min({prompt_left[i], chunk, budget});
    plan.push_back({i, n});
    used += n;
  }
  return plan;
}

}  // namespace inferline::engine
