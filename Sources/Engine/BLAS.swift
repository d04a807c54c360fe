import COpenBLAS

/// How the engine uses OpenBLAS: single-threaded calls, with the engine parallelising over independent
/// chunks itself. OpenBLAS's own worker threads spin (sched_yield) between calls, which on a 2-core machine
/// steals the core that unfolding or element-wise work needs; measured in `scripts/bench-engine`.
/// OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are left as the environment sets them.
enum BLAS {
    private static let once: Void = { openblas_set_num_threads(1) }()

    /// Applies the threading choice (idempotent, cheap).
    static func configure() { _ = once }
}
