// End-to-end: the bad-input catalogue (bad_input_cases.h) against `inferline serve`.
#include "bad_input_cases.h"
#include "e2e_fixture.h"

namespace inferline::e2e {
namespace {

TEST_F(E2E, BadInputCatalogue) { CheckBadInputCatalogue(port(), admin_, alice_); }

}  // namespace
}  // namespace inferline::e2e
