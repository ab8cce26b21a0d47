// Chat templates: turning a list of chat messages into the prompt text a model was trained on.
//
// Hugging Face stores the template as Jinja source in tokenizer_config.json ("chat_template")
// and renders it with trim_blocks and lstrip_blocks on. RenderChatTemplate runs it with the
// Jinja subset in jinja.h, which covers the common templates (ChatML/Qwen, Llama-2, Llama-3,
// Zephyr/TinyLlama, SmolLM, Mistral). The template sees `messages` (a list of {role, content}),
// `add_generation_prompt`, `bos_token`, `eos_token`, and `raise_exception(msg)`, which turns
// into an InvalidArgument error carrying msg. Unsupported syntax is an error, never a guess.
//
// Thread-safety: pure functions.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "common/status.h"

namespace inferline::engine {

struct ChatTurn {
  std::string role, content;
};

[[nodiscard]] Result<std::string> RenderChatTemplate(std::string_view jinja_source,
                                                     std::span<const ChatTurn> messages,
                                                     std::string_view bos_token,
                                                     std::string_view eos_token,
                                                     bool add_generation_prompt);

// The fallback when a tokenizer has no template: ChatML,
// "<|im_start|>{role}\n{content}<|im_end|>\n" per message, then "<|im_start|>assistant\n".
std::string RenderChatMl(std::span<const ChatTurn> messages, bool add_generation_prompt);

}  // namespace inferline::engine
