#include "engine/tokenizer/chat_template.h"

#include "engine/tokenizer/jinja.h"

namespace inferline::engine {

Result<std::string> RenderChatTemplate(std::string_view jinja_source,
                                       std::span<const ChatTurn> messages,
                                       std::string_view bos_token, std::string_view eos_token,
                                       bool add_generation_prompt) {
  ASSIGN_OR_RETURN(auto tmpl, jinja::Template::Parse(jinja_source));
  jinja::List list;
  list.reserve(messages.size());
  for (const auto& m : messages) {
    list.push_back(jinja::Value::MakeDict(
        {{"role", jinja::Value::Str(m.role)}, {"content", jinja::Value::Str(m.content)}}));
  }
  std::map<std::string, jinja::Value> globals;
  globals["messages"] = jinja::Value::MakeList(std::move(list));
  globals["add_generation_prompt"] = jinja::Value::Bool(add_generation_prompt);
  globals["bos_token"] = jinja::Value::Str(std::string(bos_token));
  globals["eos_token"] = jinja::Value::Str(std::string(eos_token));
  return tmpl->Render(globals);
}

std::string RenderChatMl(std::span<const ChatTurn> messages, bool add_generation_prompt) {
  std::string out;
  for (const auto& m : messages) {
    out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  }
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

}  // namespace inferline::engine
