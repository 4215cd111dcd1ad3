//! The functions engine: compiles FUNCTION libraries into one Lua state and
//! keeps their registered functions, as Redis 7.0's Lua engine does.
//!
//! The libraries' code is data of the node ([`FunctionLibraries`], saved
//! in the RDB); the engine mirrors it. When the code it compiled is no
//! longer what the node holds (an RDB was loaded, a full sync replaced the
//! data), the engine rebuilds its state from the code before it is used.

use std::collections::BTreeMap;

use super::library::{self, FunctionLibraries};
use super::vm::{Registered, ScriptVm};
use super::{Rand48, ScriptHost};

/// Instructions a library's code may run while it loads: Redis stops a
/// FUNCTION LOAD after 500 ms; replsim counts instructions instead of time,
/// so a load takes the same course in every run.
pub const LOAD_BUDGET_INSTRUCTIONS: u64 = 50_000_000;

/// One registered function.
#[derive(Debug, Clone)]
pub struct FunctionInfo {
    /// Its library.
    pub library: String,
    /// Its description.
    pub description: Option<String>,
    /// Its [`super::flags`].
    pub flags: u32,
    /// The callback.
    pub callback: mlua::Function,
}

/// A compiled library: its functions by name.
#[derive(Debug, Clone, Default)]
pub struct CompiledLibrary {
    /// Function names, in name order.
    pub functions: BTreeMap<String, FunctionInfo>,
}

/// The compiled libraries and the Lua state they live in.
pub struct FunctionEngine {
    vm: Option<ScriptVm>,
    libraries: BTreeMap<String, CompiledLibrary>,
    functions: BTreeMap<String, FunctionInfo>,
    generation: Option<u64>,
    rand: Rand48,
}

impl FunctionEngine {
    /// No libraries.
    pub fn new(rand: Rand48) -> Self {
        FunctionEngine {
            vm: None,
            libraries: BTreeMap::new(),
            functions: BTreeMap::new(),
            generation: None,
            rand,
        }
    }

    fn vm(&mut self) -> Result<&ScriptVm, String> {
        if self.vm.is_none() {
            let vm = ScriptVm::new(self.rand.clone(), true)
                .map_err(|e| format!("ERR cannot create the Lua state: {e}"))?;
            self.vm = Some(vm);
        }
        Ok(self.vm.as_ref().expect("made above"))
    }

    /// The Lua state (made if needed).
    pub fn state(&mut self) -> Result<&ScriptVm, String> {
        self.vm()
    }

    /// Brings the engine in line with `libraries` when they changed under
    /// it. Libraries that no longer compile (only a hand-made RDB can hold
    /// such) are left out; their errors are returned for the log.
    pub fn sync(
        &mut self,
        libraries: &FunctionLibraries,
        host: &mut dyn ScriptHost,
    ) -> Vec<String> {
        if self.generation == Some(libraries.generation()) {
            return Vec::new();
        }
        self.vm = None;
        self.libraries.clear();
        self.functions.clear();
        let mut errors = Vec::new();
        for (name, code) in libraries.iter() {
            match self.compile(code, host) {
                Ok((_, compiled)) => {
                    if let Some(clash) = compiled.functions.keys().find(|f| self.has_function(f)) {
                        errors.push(format!("Function {clash} already exists"));
                        continue;
                    }
                    self.link(name.to_string(), compiled);
                }
                Err(error) => errors.push(error),
            }
        }
        self.generation = Some(libraries.generation());
        errors
    }

    /// Whether the engine holds the code of library set `generation`.
    pub fn holds(&self, generation: u64) -> bool {
        self.generation == Some(generation)
    }

    /// Marks the engine as holding exactly `generation`'s code (after a
    /// change it made itself).
    pub fn set_generation(&mut self, generation: u64) {
        self.generation = Some(generation);
    }

    /// Compiles one library's `code` (shebang included) and runs it to
    /// collect its functions; the error is Redis's reply text.
    pub fn compile(
        &mut self,
        code: &[u8],
        host: &mut dyn ScriptHost,
    ) -> Result<(String, CompiledLibrary), String> {
        let meta = library::parse_metadata(code).map_err(|e| format!("ERR {e}"))?;
        if !library::valid_name(meta.name.as_bytes()) {
            return Err("ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".into());
        }
        if !meta.engine.eq_ignore_ascii_case("lua") {
            return Err(format!("ERR Engine '{}' not found", meta.engine));
        }
        let vm = self.vm()?;
        let chunk = vm
            .compile("@user_function", &code[meta.code_start..])
            .map_err(|e| format!("ERR Error compiling function: {e}"))?;
        let registered: Vec<Registered> =
            vm.load_library(&chunk, LOAD_BUDGET_INSTRUCTIONS, host)
                .map_err(|e| format!("ERR Error registering functions: {e}"))?;
        if registered.is_empty() {
            return Err("ERR No functions registered".into());
        }
        let mut compiled = CompiledLibrary::default();
        for function in registered {
            compiled.functions.insert(
                function.name.clone(),
                FunctionInfo {
                    library: meta.name.clone(),
                    description: function.description,
                    flags: function.flags,
                    callback: function.callback,
                },
            );
        }
        Ok((meta.name, compiled))
    }

    /// Adds a compiled library (its functions must not clash).
    pub fn link(&mut self, name: String, compiled: CompiledLibrary) {
        for (function, info) in &compiled.functions {
            self.functions
                .insert(function.to_ascii_lowercase(), info.clone());
        }
        self.libraries.insert(name, compiled);
    }

    /// Removes library `name`, returning it.
    pub fn unlink(&mut self, name: &str) -> Option<CompiledLibrary> {
        let compiled = self.libraries.remove(name)?;
        for function in compiled.functions.keys() {
            self.functions.remove(&function.to_ascii_lowercase());
        }
        Some(compiled)
    }

    /// Forgets every library (FUNCTION FLUSH) and starts a fresh state.
    pub fn clear(&mut self) {
        self.vm = None;
        self.libraries.clear();
        self.functions.clear();
    }

    /// The function `name` (function names compare case-insensitively,
    /// as in Redis).
    pub fn function(&self, name: &str) -> Option<&FunctionInfo> {
        self.functions.get(&name.to_ascii_lowercase())
    }

    /// Whether a function of that name exists.
    pub fn has_function(&self, name: &str) -> bool {
        self.functions.contains_key(&name.to_ascii_lowercase())
    }

    /// The libraries, by name.
    pub fn libraries(&self) -> &BTreeMap<String, CompiledLibrary> {
        &self.libraries
    }

    /// Number of functions over all libraries.
    pub fn function_count(&self) -> usize {
        self.functions.len()
    }

    /// Bytes the functions' Lua state uses.
    pub fn memory(&self) -> usize {
        self.vm.as_ref().map_or(0, ScriptVm::used_memory)
    }
}
