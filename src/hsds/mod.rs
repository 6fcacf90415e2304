//! Open Referral UK (HSDS 3.0): publish our directory in that shape, and import theirs.
pub mod import;
pub mod publish;
