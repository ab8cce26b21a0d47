#include "engine/tokenizer/chat_template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/tokenizer/tokenizer.h"

namespace inferline::engine {
namespace {

using ::testing::HasSubstr;

const std::vector<ChatTurn> kChat = {
    {"system", "You are kind."}, {"user", "Hi!"}, {"assistant", "Hello."}, {"user", "Bye"}};

std::string Render(std::string_view tmpl, const std::vector<ChatTurn>& msgs = kChat,
                   bool gen = true) {
  auto r = RenderChatTemplate(tmpl, msgs, "<s>", "</s>", gen);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : "";
}

TEST(ChatTemplateTest, ShippedModelTemplate) {
  const char* t =
      "{% for message in messages %}{{ message['role'] | capitalize }}: "
      "{{ message['content'] }}\n{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}";
  EXPECT_EQ(Render(t, {{"user", "Who made light?"}}), "User: Who made light?\nAssistant:");
  EXPECT_EQ(Render(t, {{"user", "a"}, {"assistant", "b"}}, false), "User: a\nAssistant: b\n");
}

TEST(ChatTemplateTest, ChatMlQwenAndSmolLm) {
  const char* t =
      "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
      "{{ '<|im_start|>system\\nYou are a helpful assistant<|im_end|>\\n' }}{% endif %}"
      "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
      "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  EXPECT_EQ(Render(t, {{"user", "Hi"}}),
            "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(Render(t, {{"system", "S"}, {"user", "Hi"}}, false),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
}

TEST(ChatTemplateTest, Llama2) {
  const char* t =
      "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
      "{% set system_message = messages[0]['content'] %}{% else %}"
      "{% set loop_messages = messages %}{% set system_message = false %}{% endif %}"
      "{% for message in loop_messages %}"
      "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
      "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
      "{% endif %}{% if loop.index0 == 0 and system_message != false %}"
      "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
      "{% else %}{% set content = message['content'] %}{% endif %}"
      "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
      "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}"
      "{% endif %}{% endfor %}";
  EXPECT_EQ(Render(t),
            "<s>[INST] <<SYS>>\nYou are kind.\n<</SYS>>\n\nHi! [/INST] Hello. </s>"
            "<s>[INST] Bye [/INST]");
  auto bad = RenderChatTemplate(t, std::vector<ChatTurn>{{"assistant", "x"}}, "<s>", "</s>", true);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("Conversation roles must alternate"));
}

TEST(ChatTemplateTest, Llama3) {
  const char* t =
      "{% set loop_messages = messages %}{% for message in loop_messages %}"
      "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ "
      "message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
      "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
      "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
      "{% endif %}";
  auto r = RenderChatTemplate(t, std::vector<ChatTurn>{{"user", "  Hi  "}}, "<|begin_of_text|>",
                              "<|eot_id|>", true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r,
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplateTest, ZephyrWithTrimBlocks) {
  // As stored in TinyLlama's tokenizer_config.json: real newlines after each tag.
  const char* t =
      "{% for message in messages %}\n{% if message['role'] == 'user' %}\n"
      "{{ '<|user|>\n' + message['content'] + eos_token }}\n"
      "{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n"
      "{% elif message['role'] == 'assistant' %}\n"
      "{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n"
      "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n"
      "{% endfor %}";
  EXPECT_EQ(Render(t, {{"system", "Be brief."}, {"user", "Hello"}}),
            "<|system|>\nBe brief.</s>\n<|user|>\nHello</s>\n<|assistant|>\n");
}

TEST(ChatTemplateTest, LanguageFeatures) {
  EXPECT_EQ(Render("  {%- if true -%}  x  {%- endif -%}  y"), "xy");
  EXPECT_EQ(Render("a\n    {% if true %}\nb\n    {% endif %}\nc"), "a\nb\nc");  // lstrip+trim
  EXPECT_EQ(Render("{# comment #}{{ 'a' ~ 1 ~ none }}"), "a1None");
  EXPECT_EQ(Render("{% for m in messages %}{{ loop.index }}{{ ',' if not loop.last }}{% endfor %}"),
            "1,2,3,4");
  EXPECT_EQ(Render("{% set ns = namespace(found=false) %}{% for m in messages %}"
                   "{% if m.role == 'system' %}{% set ns.found = true %}{% endif %}{% endfor %}"
                   "{{ ns.found }}"),
            "True");
  EXPECT_EQ(Render("{{ messages | length }} {{ (messages[::-1] | first).content }} "
                   "{{ messages[-1]['content'] | upper }} {{ 'A b' | lower }}"),
            "4 Bye BYE a b");
  EXPECT_EQ(Render("{% for m in messages if m.role == 'user' %}{{ m.content }};{% else %}none"
                   "{% endfor %}"),
            "Hi!;Bye;");
  EXPECT_EQ(Render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }} {% endfor %}"),
            "a=1 b=2 ");
  EXPECT_EQ(Render("{{ 7 // 2 }} {{ -7 % 3 }} {{ 1 + 2 * 3 }} {{ 3 / 2 }} {{ 'ab' * 2 }}"),
            "3 2 7 1.5 abab");
  EXPECT_EQ(Render("{{ x is defined }} {{ bos_token is string }} {{ undefined_thing }}|"),
            "False True |");
  EXPECT_EQ(Render("{{ ['a', 'b'] | join('-') }} {{ 'x' in 'xyz' }} {{ 3 not in [1, 2] }}"),
            "a-b True True");
  EXPECT_EQ(Render("{{ {'k': [1, 'two']} | tojson }}"), "{\"k\": [1, \"two\"]}");
  EXPECT_EQ(Render("{{ '  pad  '.strip() }}|{{ 'a,b'.split(',') | last }}|{{ 'Hi'.startswith('H') }}"),
            "pad|b|True");
  EXPECT_EQ(Render("{% if false %}a{% elif 0 %}b{% else %}c{% endif %}"), "c");
}

TEST(ChatTemplateTest, ErrorsAreReportedNotThrown) {
  const char* bad[] = {
      "{% if x %}unclosed",
      "{{ 'unterminated }}",
      "{% for x in %}{% endfor %}",
      "{% macro m() %}{% endmacro %}",
      "{{ x | nosuchfilter }}",
      "{{ nosuchfunction() }}",
      "{% endif %}",
      "{{ 1 / 0 }}",
      "{{ range(1000000000) }}",
      "{{ ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))) }}",
      "{{ 'a' < 1 }}",
      "{{ ",
  };
  for (const char* t : bad) {
    auto r = RenderChatTemplate(t, kChat, "<s>", "</s>", true);
    EXPECT_FALSE(r.ok()) << t;
    EXPECT_THAT(r.status().message(), HasSubstr("chat template")) << t;
  }
}

TEST(ChatTemplateTest, TokenizerUsesConfigTemplateOrChatMl) {
  const std::string json = R"({"model":{"type":"BPE","vocab":{"a":0}}})";
  auto plain = Tokenizer::FromJson(json);
  ASSERT_TRUE(plain.ok());
  const std::vector<Tokenizer::ChatMessage> msgs = {{"user", "Hi"}};
  auto chatml = (*plain)->ApplyChatTemplate(msgs, true);
  ASSERT_TRUE(chatml.ok());
  EXPECT_EQ(*chatml, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");

  auto with = Tokenizer::FromJson(
      json, R"({"bos_token":"<s>","chat_template":"{{ bos_token }}{{ messages[0].content }}"})");
  ASSERT_TRUE(with.ok()) << with.status().ToString();
  auto out = (*with)->ApplyChatTemplate(msgs, false);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "<s>Hi");
}

}  // namespace
}  // namespace inferline::engine

namespace inferline::engine {
namespace {

TEST(ChatTemplateTest, ModeratelyNestedExpressionsParse) {
  EXPECT_EQ(Render("{{ ((messages[(0)]['content'] ~ (('!' ~ ('?'))))) }}"), "You are kind.!?");
}

}  // namespace
}  // namespace inferline::engine
