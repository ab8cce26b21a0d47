#include "common/json_value.h"

#include "common/json_writer.h"

namespace inferline {

void AppendJsonValue(std::string& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      out += "null";
      return;
    case boost::json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      return;
    case boost::json::kind::int64:
      AppendJsonInt(out, v.get_int64());
      return;
    case boost::json::kind::uint64:
      AppendJsonUint(out, v.get_uint64());
      return;
    case boost::json::kind::double_:
      AppendJsonDouble(out, v.get_double());
      return;
    case boost::json::kind::string: {
      const boost::json::string& s = v.get_string();
      AppendJsonString(out, std::string_view(s.data(), s.size()));
      return;
    }
    case boost::json::kind::array:
      AppendJsonArray(out, v.get_array(),
                      [](std::string& o, const boost::json::value& item) { AppendJsonValue(o, item); });
      return;
    case boost::json::kind::object: {
      out += '{';
      bool first = true;
      for (const boost::json::key_value_pair& kv : v.get_object()) {
        if (!first) out += ',';
        first = false;
        AppendJsonString(out, std::string_view(kv.key().data(), kv.key().size()));
        out += ':';
        AppendJsonValue(out, kv.value());
      }
      out += '}';
      return;
    }
  }
}

std::string SerializeJson(const boost::json::value& v) {
  std::string out;
  AppendJsonValue(out, v);
  return out;
}

}  // namespace inferline
