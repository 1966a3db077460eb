// mimalloc instead of the system allocator: with glibc's, a sixth of the server's CPU
// under load went to malloc and free (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    helpline::cli::main()
}
