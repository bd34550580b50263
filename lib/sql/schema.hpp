// Internal: the schema and its versioned migrations, one text for both
// dialects (types through Dialect::ddl).
#pragma once

#include "core/detail/test_export.hpp"
#include "sql/connection.hpp"

namespace mimrest::sql::detail {

/// The version this build creates and reads.
inline constexpr int kSchemaVersion = 2;

/// Brings the database to kSchemaVersion inside one transaction: creates the
/// tables of an empty database, applies the missing migrations of an older
/// one. Throws DbError with a readable message for a database that belongs
/// to another application or has a newer schema. Safe when several processes
/// open one database at once.
MIMREST_TEST_EXPORT void migrate(Connection& db);

/// The schema version of the database (0 when it has none).
MIMREST_TEST_EXPORT int schema_version(Connection& db);

}  // namespace mimrest::sql::detail
