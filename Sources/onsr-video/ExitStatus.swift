import Pipeline

/// The exit statuses onsr-video documents (sysexits-style), one per kind of failure: the command line's policy.
/// Batch runs read a child's status back into the kind it stands for.
enum ExitStatus {
    /// The status for a failure of `kind`.
    static func code(for kind: JobError.Kind) -> Int32 {
        switch kind {
        case .usage: return 64          // EX_USAGE
        case .dataError: return 65      // EX_DATAERR
        case .noInput: return 66        // EX_NOINPUT
        case .cannotCreate: return 73   // EX_CANTCREAT
        case .interrupted: return 130   // 128 + SIGINT
        case .other: return 1
        }
    }

    /// The kind a child's exit `status` stands for (`.other` for one onsr-video does not document).
    static func kind(of status: Int32) -> JobError.Kind {
        JobError.Kind.allCases.first { code(for: $0) == status } ?? .other
    }
}
