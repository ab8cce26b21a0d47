#include "engine/ops/reference.h"

#include <cmath>
#include <numbers>

namespace inferline::engine::ops::reference {

std::vector<float> MatMul(std::span<const float> x, std::span<const float> w,
                          std::span<const float> bias, int64_t m, int64_t n, int64_t k) {
  std::vector<float> y(m * n);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double s = bias.empty() ? 0.0 : bias[j];
      for (int64_t t = 0; t < k; ++t) s += static_cast<double>(x[i * k + t]) * w[j * k + t];
      y[i * n + j] = static_cast<float>(s);
    }
  }
  return y;
}

std::vector<float> LayerNorm(std::span<const float> x, std::span<const float> gamma,
                             std::span<const float> beta, float eps, int64_t dim) {
  std::vector<float> y(x.size());
  for (size_t r = 0; r < x.size() / dim; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < dim; ++i) mean += x[r * dim + i];
    mean /= dim;
    for (int64_t i = 0; i < dim; ++i) var += std::pow(x[r * dim + i] - mean, 2);
    var /= dim;
    for (int64_t i = 0; i < dim; ++i) {
      y[r * dim + i] =
          static_cast<float>((x[r * dim + i] - mean) / std::sqrt(var + eps) * gamma[i] + beta[i]);
    }
  }
  return y;
}

std::vector<float> RmsNorm(std::span<const float> x, std::span<const float> weight, float eps,
                           int64_t dim) {
  std::vector<float> y(x.size());
  for (size_t r = 0; r < x.size() / dim; ++r) {
    double ms = 0;
    for (int64_t i = 0; i < dim; ++i) ms += std::pow(x[r * dim + i], 2);
    ms /= dim;
    for (int64_t i = 0; i < dim; ++i) {
      y[r * dim + i] = static_cast<float>(x[r * dim + i] / std::sqrt(ms + eps) * weight[i]);
    }
  }
  return y;
}

std::vector<float> GeluTanh(std::span<const float> x) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    y[i] = static_cast<float>(
        0.5 * v * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (v + 0.044715 * v * v * v))));
  }
  return y;
}

std::vector<float> GeluErf(std::span<const float> x) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    y[i] = static_cast<float>(0.5 * v * (1 + std::erf(v / std::sqrt(2.0))));
  }
  return y;
}

std::vector<float> Silu(std::span<const float> x) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    y[i] = static_cast<float>(x[i] / (1 + std::exp(-double{x[i]})));
  return y;
}

std::vector<float> Softmax(std::span<const float> x, int64_t dim) {
  std::vector<float> y(x.size());
  for (size_t r = 0; r < x.size() / dim; ++r) {
    double mx = -INFINITY, sum = 0;
    for (int64_t i = 0; i < dim; ++i) mx = std::max<double>(mx, x[r * dim + i]);
    for (int64_t i = 0; i < dim; ++i) sum += std::exp(x[r * dim + i] - mx);
    for (int64_t i = 0; i < dim; ++i) {
      y[r * dim + i] = static_cast<float>(std::exp(x[r * dim + i] - mx) / sum);
    }
  }
  return y;
}

std::vector<double> RopeInvFreq(const RopeParams& p) {
  const int half = p.head_dim / 2;
  std::vector<double> inv(half);
  for (int i = 0; i < half; ++i) inv[i] = std::pow(double{p.theta}, -2.0 * i / p.head_dim);
  if (p.scaling_type == "linear") {
    for (double& f : inv) f /= p.factor;
  } else if (p.scaling_type == "llama3") {
    const double old_len = p.original_max_positions;
    for (double& f : inv) {
      const double wavelen = 2 * std::numbers::pi / f;
      if (wavelen < old_len / p.high_freq_factor) continue;  // high frequency: unchanged
      if (wavelen > old_len / p.low_freq_factor) {           // low frequency: divided
        f /= p.factor;
        continue;
      }
      const double smooth =
          (old_len / wavelen - p.low_freq_factor) / (p.high_freq_factor - p.low_freq_factor);
      f = (1 - smooth) * f / p.factor + smooth * f;
    }
  }
  return inv;
}

std::vector<float> Rope(std::span<const float> x, int num_heads, int64_t pos, const RopeParams& p) {
  const std::vector<double> inv = RopeInvFreq(p);
  const int half = p.head_dim / 2;
  std::vector<float> y(x.begin(), x.end());
  for (int h = 0; h < num_heads; ++h) {
    for (int i = 0; i < half; ++i) {
      const double a = x[h * p.head_dim + i];
      const double b = x[h * p.head_dim + i + half];
      const double angle = pos * inv[i];
      y[h * p.head_dim + i] = static_cast<float>(a * std::cos(angle) - b * std::sin(angle));
      y[h * p.head_dim + i + half] = static_cast<float>(b * std::cos(angle) + a * std::sin(angle));
    }
  }
  return y;
}

std::vector<float> Attention(std::span<const float> q, std::span<const float> keys,
                             std::span<const float> values, int64_t start, int64_t n_new,
                             int num_heads, int num_kv_heads, int head_dim, float scale) {
  const int64_t q_width = static_cast<int64_t>(num_heads) * head_dim;
  const int64_t kv_width = static_cast<int64_t>(num_kv_heads) * head_dim;
  const int group = num_heads / num_kv_heads;
  std::vector<float> out(n_new * q_width);
  for (int64_t i = 0; i < n_new; ++i) {
    for (int h = 0; h < num_heads; ++h) {
      const int kvh = h / group;
      const int64_t len = start + i + 1;
      std::vector<double> s(len);
      double mx = -INFINITY;
      for (int64_t j = 0; j < len; ++j) {
        double dot = 0;
        for (int c = 0; c < head_dim; ++c) {
          dot +=
              double{q[i * q_width + h * head_dim + c]} * keys[j * kv_width + kvh * head_dim + c];
        }
        s[j] = dot * scale;
        mx = std::max(mx, s[j]);
      }
      double sum = 0;
      for (double& v : s) sum += (v = std::exp(v - mx));
      for (int c = 0; c < head_dim; ++c) {
        double acc = 0;
        for (int64_t j = 0; j < len; ++j)
          acc += s[j] / sum * values[j * kv_width + kvh * head_dim + c];
        out[i * q_width + h * head_dim + c] = static_cast<float>(acc);
      }
    }
  }
  return out;
}

}  // namespace inferline::engine::ops::reference
