//! `signpost import hsds <source>` (being written).
