//! The function libraries a node holds (FUNCTION LOAD): their source code,
//! by library name. This is data, like the keyspace it belongs to: it is
//! saved in the RDB (one `RDB_OPCODE_FUNCTION2` record per library), sent
//! to replicas with a full sync and replaced by one. Compiling the code into
//! callable functions is the engine's job ([`super::functions`]), which
//! recompiles whenever this set changed under it (an RDB loaded, a full
//! sync).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Hands out generations: every change to a library set gets a number no
/// other set in this process had, so that an engine can tell whether the
/// code it compiled is still the code the node holds. Only equality of
/// generations is ever used, so the numbers never reach any output.
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

fn next_generation() -> u64 {
    NEXT_GENERATION.fetch_add(1, Ordering::Relaxed)
}

/// Library code by library name, in name order (the order FUNCTION LIST,
/// FUNCTION DUMP and the RDB use here; Redis uses its hash table's order).
#[derive(Debug, Clone)]
pub struct FunctionLibraries {
    code: BTreeMap<String, Vec<u8>>,
    generation: u64,
}

impl Default for FunctionLibraries {
    fn default() -> Self {
        FunctionLibraries {
            code: BTreeMap::new(),
            generation: next_generation(),
        }
    }
}

impl PartialEq for FunctionLibraries {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
    }
}

impl FunctionLibraries {
    /// The libraries, by name, with their full code (shebang included).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.code.iter().map(|(n, c)| (n.as_str(), c.as_slice()))
    }

    /// The code of library `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.code.get(name).map(Vec::as_slice)
    }

    /// Number of libraries.
    pub fn len(&self) -> usize {
        self.code.len()
    }

    /// True when no library is loaded.
    pub fn is_empty(&self) -> bool {
        self.code.is_empty()
    }

    /// Identifies this exact set of libraries (see [`NEXT_GENERATION`]).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Replaces the whole set (FUNCTION LOAD, DELETE, FLUSH, RESTORE after
    /// the engine checked the new set).
    pub fn replace_all(&mut self, code: BTreeMap<String, Vec<u8>>) -> u64 {
        self.code = code;
        self.generation = next_generation();
        self.generation
    }

    /// The set as a map, to build a changed copy from.
    pub fn to_map(&self) -> BTreeMap<String, Vec<u8>> {
        self.code.clone()
    }

    /// Adds a library read from an RDB; false when the name is taken.
    pub fn insert_loaded(&mut self, name: String, code: Vec<u8>) -> bool {
        if self.code.contains_key(&name) {
            return false;
        }
        self.code.insert(name, code);
        self.generation = next_generation();
        true
    }
}

/// What a library's first line says (`#!lua name=mylib`), as Redis 7.0's
/// `functionExtractLibMetaData` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryMetadata {
    /// The engine named after `#!` (`lua`).
    pub engine: String,
    /// The library's name.
    pub name: String,
    /// Where the code after the shebang starts (its newline, so that line
    /// numbers stay those of the whole text).
    pub code_start: usize,
}

/// Reads a library's shebang line, with Redis's error texts (without the
/// `ERR ` prefix).
pub fn parse_metadata(code: &[u8]) -> Result<LibraryMetadata, String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err("Invalid library metadata".into());
    };
    let Some(parts) = split_shebang(&code[..end]) else {
        return Err("Invalid library metadata".into());
    };
    let Some(first) = parts.first() else {
        return Err("Invalid library metadata".into());
    };
    let engine = String::from_utf8_lossy(&first[2.min(first.len())..]).into_owned();
    let mut name = None;
    for part in &parts[1..] {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err(
                    "Invalid metadata value, name argument was given multiple times".into(),
                );
            }
            name = Some(String::from_utf8_lossy(&part[5..]).into_owned());
            continue;
        }
        return Err(format!(
            "Invalid metadata value given: {}",
            String::from_utf8_lossy(part)
        ));
    }
    let Some(name) = name else {
        return Err("Library name was not given".into());
    };
    Ok(LibraryMetadata {
        engine,
        name,
        code_start: end,
    })
}

/// Splits a shebang line into words as `sdssplitargs` does; None on
/// unbalanced quotes.
pub fn split_shebang(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut bytes = Vec::new();
    let mut ranges = Vec::new();
    if !crate::resp::split_inline_args(line, &mut bytes, &mut ranges) {
        return None;
    }
    Some(
        ranges
            .into_iter()
            .map(|(a, b)| bytes[a..b].to_vec())
            .collect(),
    )
}

/// Redis's rule for library and function names: letters, digits and
/// underscores, at least one.
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_names_the_library_and_keeps_the_first_newline() {
        let meta = parse_metadata(b"#!lua name=mylib\nreturn 1").unwrap();
        assert_eq!(meta.engine, "lua");
        assert_eq!(meta.name, "mylib");
        assert_eq!(meta.code_start, 16);
    }

    #[test]
    fn metadata_errors_are_redis_texts() {
        assert_eq!(
            parse_metadata(b"return 1").unwrap_err(),
            "Missing library metadata"
        );
        assert_eq!(
            parse_metadata(b"#!lua name=x").unwrap_err(),
            "Invalid library metadata"
        );
        assert_eq!(
            parse_metadata(b"#!lua\n").unwrap_err(),
            "Library name was not given"
        );
        assert_eq!(
            parse_metadata(b"#!lua foo=bar\n").unwrap_err(),
            "Invalid metadata value given: foo=bar"
        );
    }

    #[test]
    fn equal_sets_compare_equal_whatever_their_generation() {
        let mut a = FunctionLibraries::default();
        let mut b = FunctionLibraries::default();
        assert!(a.insert_loaded("x".into(), b"1".to_vec()));
        assert!(b.insert_loaded("x".into(), b"1".to_vec()));
        assert_eq!(a, b);
        assert_ne!(a.generation(), b.generation());
        assert!(!a.insert_loaded("x".into(), b"2".to_vec()));
    }
}
