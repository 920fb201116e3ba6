//! down_refusals
