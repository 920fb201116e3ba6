//! The migration engine.
