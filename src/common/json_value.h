// Serializes a Boost.JSON value tree as JSON text with the writers of common/json_writer.h.
// Boost.JSON 1.81 writes every double in exponent form ("1.46E-1", "0E0"); this writes the
// shortest digits that read back exactly, in plain decimal form from 1e-7 to 1e16 ("0.146",
// "0", "0.000023"), as the hot paths' direct writers do, so that every answer and event prints
// its numbers alike.
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json/value.hpp>
#include <string>

namespace inferline {

void AppendJsonValue(std::string& out, const boost::json::value& v);
std::string SerializeJson(const boost::json::value& v);

}  // namespace inferline
