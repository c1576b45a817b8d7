namespace Cryo.Resources;

/// <summary>The registry of resource kinds: adding one is a new file and a line here.</summary>
internal static class ResourceKinds
{
    /// <summary>In the order their items stand in a PROC section (docs/format.md, "Item order").</summary>
    public static readonly IReadOnlyList<IResourceKind> DumpOrder =
    [
        new ProcessIdentity(), // PINF, CRED
        new Limits(),          // RLIM
        new Signals(),         // SIGA, PEND
        new Timers(),          // ITMR
        new PosixTimers(),     // PTMR
        new Scheduling(),      // OOMS (SCHD in THRD via Threads)
        new SysVSharedMemory(),// SHMS
        new PathlessFiles(),      // MEMF, MDAT
        new Memory(),          // MMST, AREA, PAGE
        new MemoryAdvice(),    // MADV
        new Files(),           // FDES (pipes and FIFOs through Pipes)
        new Seccomp(),         // SCMF (SCMT in THRD via Threads)
        new Pipes(),           // FINF, FBUF in the FIFO section
        new Threads(),         // THRD: TINF, GREG, XSTA (PEND via Signals, SCHD via Scheduling)
    ];

    /// <summary>
    /// The order in which a restored process is completed: memory and the mm fields first, the
    /// memfd seals held back until every mapping exists, the
    /// memory advice once every page is in (mlock faults every page in), then
    /// descriptors and pipe contents, signals, limits and credentials (late: dropping privileges
    /// or lowering limits earlier would block the injected calls that follow), then the interval
    /// and POSIX timers (setitimer and timer_settime need no privilege; armed after the handlers exist and as late as
    /// possible, so little of their remaining time passes before the release), registers, and after
    /// them the scheduling attributes: set from outside with no injected call, so a thread made
    /// SCHED_IDLE, niced or pinned to one CPU slows no call of the restore, and a SCHED_FIFO one
    /// (stopped until the release) starves none.
    /// </summary>
    public static readonly IReadOnlyList<IResourceKind> FinishOrder =
    [
        Find<Memory>(), Find<PathlessFiles>(), Find<MemoryAdvice>(), Find<Files>(), Find<Pipes>(), Find<Signals>(), Find<Limits>(), Find<ProcessIdentity>(), Find<Timers>(), Find<PosixTimers>(), Find<Threads>(), Find<Seccomp>(), Find<Scheduling>(),
    ];

    public static T Find<T>() where T : IResourceKind => DumpOrder.OfType<T>().Single();
}
