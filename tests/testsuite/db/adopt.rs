//! adopt
