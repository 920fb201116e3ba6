//! The SQL dialects cargo-dbmigrate speaks, named once for the build script, the engine and the CLI.

use std::fmt;

/// The SQL dialect of a database or a migration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dialect {
    Sqlite,
    Postgres,
    Mysql,
}

impl Dialect {
    /// Every dialect, in the order tools list them.
    pub const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql];

    /// The name used in configuration, file names (`schema.postgres.sql`) and options.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
            Dialect::Mysql => "mysql",
        }
    }

    /// The dialect a name or URL scheme means: `sqlite`, `postgres`/`postgresql`,
    /// `mysql`/`mariadb`, in any case.
    pub fn from_name(name: &str) -> Option<Dialect> {
        match name.to_ascii_lowercase().as_str() {
            "sqlite" => Some(Dialect::Sqlite),
            "postgres" | "postgresql" => Some(Dialect::Postgres),
            "mysql" | "mariadb" => Some(Dialect::Mysql),
            _ => None,
        }
    }

    /// The dialect of a database URL, read from its scheme (`sqlite:dev.db`,
    /// `postgres://…`); `None` when the scheme is unknown.
    pub fn of_url(url: &str) -> Option<Dialect> {
        let scheme = url.split_once(':')?.0;
        Dialect::from_name(scheme)
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_schemes_map_to_one_dialect() {
        assert_eq!(Dialect::from_name("MariaDB"), Some(Dialect::Mysql));
        assert_eq!(Dialect::from_name("postgresql"), Some(Dialect::Postgres));
        assert_eq!(Dialect::of_url("sqlite:dev.db"), Some(Dialect::Sqlite));
        assert_eq!(Dialect::of_url("postgres://u@h/db"), Some(Dialect::Postgres));
        assert_eq!(Dialect::of_url("dev.db"), None);
        for d in Dialect::ALL {
            assert_eq!(Dialect::from_name(d.as_str()), Some(d));
        }
    }
}
