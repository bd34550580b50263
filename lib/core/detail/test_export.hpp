// Internal: MIMREST_TEST_EXPORT marks the internal declarations (headers
// under lib/) that the tests call directly, the way MIMREST_EXPORT marks the
// public ones (include/mimrest/export.hpp: the same rule for classes and
// functions). A shared library built together with the tests exports them
// too, so that the tests link against it; built without the tests, or
// static, they stay hidden like every other internal name.
#pragma once

#include "mimrest/export.hpp"

#if defined(MIMREST_EXPORT_FOR_TESTS)
#define MIMREST_TEST_EXPORT MIMREST_EXPORT
#else
#define MIMREST_TEST_EXPORT
#endif
