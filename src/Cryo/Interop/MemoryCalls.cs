namespace Cryo.Interop;

/// <summary>
/// x86-64 numbers and constants of the calls the memory, thread and process-birth code uses
/// (injected, or local where noted). Kept apart from <see cref="SyscallNumbers"/> (groundwork)
/// and <see cref="InjectedCalls"/> (file, signal, limit and identity kinds) so each owner's
/// additions stay in its own file.
/// </summary>
internal static class MemoryCalls
{
    public const long Setpgid = 109, Setsid = 112, Sigaltstack = 131, GetRobustList = 274;

    public const long MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2;
    public const long MAP_GROWSDOWN = 0x100, MAP_NORESERVE = 0x4000;

    /// <summary>clone3 flag: the child's parent is the caller's parent (here: cryo, not the stub).</summary>
    public const ulong CLONE_PARENT = 0x8000;
    public const ulong CLONE_VM = 0x100, CLONE_FS = 0x200, CLONE_FILES = 0x400, CLONE_SIGHAND = 0x800, CLONE_THREAD = 0x10000, CLONE_SYSVSEM = 0x40000;
    public const ulong ThreadCloneFlags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;

    public const long RSEQ_FLAG_UNREGISTER = 1;

    public const int PR_SET_MM = 35, PR_SET_MM_MAP = 14, PR_GET_TID_ADDRESS = 40;

    /// <summary>sizeof(struct prctl_mm_map): 11 u64, the auxv pointer, auxv_size and exe_fd (u32 each).</summary>
    public const int PrctlMmMapSize = 104;

    /// <summary>sizeof(stack_t) on x86-64: ss_sp (8), ss_flags (4 + 4 padding), ss_size (8).</summary>
    public const int StackTSize = 24;

    public const uint SS_ONSTACK = 1, SS_DISABLE = 2;

    /// <summary>sizeof(struct robust_list_head): what set_robust_list insists on.</summary>
    public const ulong RobustListHeadSize = 24;
}
