//! Handing freed memory back to the operating system after the big, rare allocations
//! (loading content, building a directory snapshot), so resident memory reflects what the
//! service holds, not what start-up once needed (docs/PERFORMANCE.md, issue 2).
//!
//! Two allocators live in this process: mimalloc for Rust (the binary's global allocator)
//! and the C library's malloc for C code, chiefly SQLite. Each keeps freed pages for reuse
//! until asked to let them go.

/// Returns both allocators' free pages to the OS. Cheap when there is nothing to return;
/// call it after a burst of allocation, never per request.
pub fn release_free_memory() {
    // SAFETY: mi_collect only frees pages mimalloc already knows are unused; it is a no-op
    // for a process whose global allocator is not mimalloc (the test binaries).
    unsafe { libmimalloc_sys::mi_collect(true) };
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory at glibc's discretion; it takes the
    // allocator's own locks and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
