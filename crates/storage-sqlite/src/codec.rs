//! Column encodings, shared with the other backend through `qunzhu_storage::codec`.

pub use qunzhu_storage::codec::*;
