using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Restore;
using Cryo.Tracing;

namespace Cryo.Resources;

/// <summary>
/// Who a process is: PINF (ids, personality, umask, prctl attributes, comm, exe, cwd, root) and
/// CRED (uids, gids, groups, capabilities, securebits). prctl values that /proc does not show
/// are read with injected prctl calls. Restore (finish phase, after descriptors, signals and
/// limits, before registers): comm, cwd, root (chroot), umask, personality, subreaper, then credentials, then
/// what a credential change resets (dumpable, parent-death signal), then no_new_privs.
/// </summary>
internal sealed class ProcessIdentity : IResourceKind
{
    private const uint SecbitKeepCaps = 0x10, SecbitKeepCapsLocked = 0x20;

    public string Name => "ProcessIdentity";

    public bool Handles(CheckpointItem item) => item is ProcessInfo or Credentials or DeletedWorkingDirectory;

    // ---------------------------------------------------------------- dump

    public IDumpedResource Dump(FrozenProcess process, DumpSession session)
    {
        int pid = process.Pid;
        var stat = ProcStat.Read(pid);
        var status = ProcStatus.Read(pid);
        byte[] exe = Link(pid, "exe");
        // A deleted regular file comes back from the contents its mappings save (PathlessFiles);
        // an executable memfd (fexecve of a memfd_create, as container runtimes do) does not yet.
        if (EndsWithDeleted(exe) && !PathlessFiles.IsDeletedFile(Encoding.UTF8.GetString(exe)))
            throw new UnsupportedResourceException(pid, $"executable {Encoding.UTF8.GetString(exe)}", "the program runs from a file that is not a deleted regular file (a memfd?), which cryo does not make again yet");
        byte[] cwd = Link(pid, "cwd");
        var deletedCwd = EndsWithDeleted(cwd) ? DeletedCwd(pid, cwd) : null;
        if (deletedCwd is not null) cwd = deletedCwd.Path;
        // A chroot's root, like every path cryo reads of the process, is as cryo's root sees it.
        byte[] root = Link(pid, "root");
        if (EndsWithDeleted(root))
            throw new UnsupportedResourceException(pid, $"root directory {Encoding.UTF8.GetString(root)}", "the directory it is chrooted into was deleted");

        uint personality = uint.Parse(ProcFiles.ReadText(pid, "personality").Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        byte[] comm = ProcFiles.ReadBytes(ProcFiles.PathOf(pid, "comm"));
        if (comm.Length > 0 && comm[^1] == (byte)'\n') comm = comm[..^1];

        var sys = process.Syscalls;
        byte dumpable = (byte)sys.Checked("prctl(PR_GET_DUMPABLE)", SyscallNumbers.Prctl, InjectedCalls.PR_GET_DUMPABLE);
        uint securebits = (uint)sys.Checked("prctl(PR_GET_SECUREBITS)", SyscallNumbers.Prctl, InjectedCalls.PR_GET_SECUREBITS);
        int subreaper, pdeath;
        using (var scratch = process.Scratch(8))
        {
            Span<byte> word = stackalloc byte[4];
            sys.Checked("prctl(PR_GET_CHILD_SUBREAPER)", SyscallNumbers.Prctl, InjectedCalls.PR_GET_CHILD_SUBREAPER, (long)scratch.Address);
            scratch.Read(0, word);
            subreaper = BinaryPrimitives.ReadInt32LittleEndian(word);
            sys.Checked("prctl(PR_GET_PDEATHSIG)", SyscallNumbers.Prctl, InjectedCalls.PR_GET_PDEATHSIG, (long)scratch.Address);
            scratch.Read(0, word);
            pdeath = BinaryPrimitives.ReadInt32LittleEndian(word);
        }

        // A job-control stop is kept as waitpid(WUNTRACED) would report it.
        int stopSignal = process.JobControlStopSignal;
        var info = new ProcessInfo(pid, stat.ParentPid, stat.ProcessGroup, stat.Session,
            stopSignal != 0 ? ProcessState.Stopped : ProcessState.Alive, stopSignal != 0 ? 0x7f | stopSignal << 8 : 0,
            personality, (uint)status.Umask,
            dumpable, status.NoNewPrivs ? (byte)1 : (byte)0, subreaper != 0 ? (byte)1 : (byte)0, (uint)pdeath,
            (uint)process.Threads.Count, comm, exe, cwd, root);
        return new DumpedItems(deletedCwd is null ? [info, CredentialsOf(status, securebits)] : [info, deletedCwd, CredentialsOf(status, securebits)]);
    }

    /// <summary>
    /// A working directory deleted while the process was in it (a build directory cleaned up
    /// under a running job): saved with its mode and owner, to be made again and deleted again;
    /// null if the link only looks so (a directory named "... (deleted)" has links). Its parent
    /// must still be there, where the restore makes it. Paths stay bytes: a name need not be UTF-8.
    /// </summary>
    private static DeletedWorkingDirectory? DeletedCwd(int pid, byte[] link)
    {
        UnsupportedResourceException Refuse(string why) => new(pid, $"working directory {Encoding.UTF8.GetString(link)}", why);
        var status = Native.TryStat(Encoding.UTF8.GetBytes(ProcFiles.PathOf(pid, "cwd")), out int errno)
            ?? throw Refuse($"stat failed: {ErrnoNames.Name(errno)}");
        if (status.Links != 0) return null;
        if (status.Type != FileStatus.S_IFDIR) throw Refuse("it is not a directory");
        byte[] path = link[..^" (deleted)".Length];
        int slash = Array.LastIndexOf(path, (byte)'/');
        byte[] parent = slash > 0 ? path[..slash] : "/"u8.ToArray();
        if (path.Length < 2 || path[0] != (byte)'/' || Native.TryStat(parent, out _) is not { Type: FileStatus.S_IFDIR })
            throw Refuse($"the directory it was in ({Encoding.UTF8.GetString(parent)}) is gone too, so a restore could not make it again");
        return new DeletedWorkingDirectory(path, status.Mode, status.Uid, status.Gid);
    }

    /// <summary>
    /// The PINF of a zombie (state 1, no threads, no paths): ids from /proc/PID/stat, the wait
    /// status from its exit_code field (as waitpid would report it). Nothing else of a zombie
    /// is left to read or to restore.
    /// </summary>
    internal static ProcessInfo DumpZombie(int pid)
    {
        var stat = ProcStat.Read(pid);
        byte[] comm = Encoding.UTF8.GetBytes(stat.Comm);
        return new ProcessInfo(pid, stat.ParentPid, stat.ProcessGroup, stat.Session, ProcessState.Zombie, stat.ExitCode,
            0, 0, 0, 0, 0, 0, 0, comm, [], [], []);
    }

    internal static Credentials CredentialsOf(ProcessStatus status, uint securebits)
    {
        if (status.Uids.Length != 4 || status.Gids.Length != 4)
            throw new ProcFormatException($"/proc/{status.Pid}/status", "Uid and Gid lines need 4 values each");
        uint[] groups = [.. (status.Fields.GetValueOrDefault("Groups") ?? "")
            .Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries)
            .Select(g => uint.Parse(g, CultureInfo.InvariantCulture))];
        return new Credentials(
            (uint)status.Uids[0], (uint)status.Uids[1], (uint)status.Uids[2], (uint)status.Uids[3],
            (uint)status.Gids[0], (uint)status.Gids[1], (uint)status.Gids[2], (uint)status.Gids[3],
            status.CapInheritable, status.CapPermitted, status.CapEffective, status.CapBounding, status.CapAmbient,
            securebits, groups);
    }

    private static byte[] Link(int pid, string name) => Native.ReadLink(ProcFiles.PathOf(pid, name));

    private static bool EndsWithDeleted(byte[] path) => path.AsSpan().EndsWith(" (deleted)"u8);

    // ---------------------------------------------------------------- restore

    internal sealed class IdentityState
    {
        public ProcessInfo? Info { get; set; }
        public Credentials? Credentials { get; set; }
        public DeletedWorkingDirectory? DeletedCwd { get; set; }
    }

    public void Restore(RestoringProcess? process, CheckpointItem item, RestoreSession session)
    {
        if (process is null) throw new InvalidOperationException($"'{item.Tag}' outside a PROC section");
        var state = process.State<IdentityState>();
        if (item is ProcessInfo info) state.Info = info;
        else if (item is DeletedWorkingDirectory deleted)
        {
            if (state.Info is not { } owner || process.ItemsRead != 2 || !owner.Cwd.AsSpan().SequenceEqual(deleted.Path))
                throw new InvalidDataException($"image of pid {process.Pid}: a DCWD must directly follow its PINF, once, with the PINF's cwd as its path");
            state.DeletedCwd = deleted;
        }
        else state.Credentials = (Credentials)item;
    }

    /// <summary>
    /// A deleted working directory made again: at its path if that is free, else beside it
    /// (PATH.cryo-N), with its mode and owner. The caller deletes it once the process is in it.
    /// </summary>
    private static byte[] MakeDirectoryAgain(DeletedWorkingDirectory deleted, int pid)
    {
        byte[] bytes = deleted.Path;
        string what = $"pid {pid}: its deleted working directory {Encoding.UTF8.GetString(deleted.Path)}";
        bool ok = Native.TryMakeDirectory(bytes, out int errno);
        for (int attempt = 1; !ok && errno == ErrnoNames.EEXIST && attempt < 100; attempt++)
            ok = Native.TryMakeDirectory(bytes = [.. deleted.Path, .. Encoding.ASCII.GetBytes($".cryo-{attempt}")], out errno);
        if (!ok) throw new SysCallException("mkdir", errno, $"{what}, made again as {Encoding.UTF8.GetString(bytes)}");
        try
        {
            Native.SetOwnerAndMode(bytes, deleted.Mode, deleted.Uid, deleted.Gid, what);
            return bytes;
        }
        catch
        {
            Native.Rmdir(bytes);
            throw;
        }
    }

    public void Finish(RestoringProcess process, RestoreSession session)
    {
        var state = process.State<IdentityState>();
        var info = state.Info ?? process.Info;
        if (info.State == ProcessState.Zombie) return;
        var scratch = process.ScratchFor("the identity calls");
        var sys = process.Syscalls;
        int pid = process.Pid;

        var comm = info.Comm.AsSpan(0, Math.Min(info.Comm.Length, 15));
        sys.Checked("prctl(PR_SET_NAME)", SyscallNumbers.Prctl, InjectedCalls.PR_SET_NAME, (long)scratch.WriteCString(0, comm));
        if (info.Cwd.Length > 0)
        {
            byte[] cwd = state.DeletedCwd is { } deleted ? MakeDirectoryAgain(deleted, pid) : info.Cwd;
            try
            {
                if (cwd.Length + 1 > scratch.Size)
                    throw new InvalidOperationException($"pid {pid}: working directory path of {cwd.Length} bytes does not fit the {scratch.Size}-byte scratch page");
                long result = sys.Invoke(InjectedCalls.Chdir, (long)scratch.WriteCString(0, cwd));
                if (result < 0)
                    throw new SysCallException("chdir (injected)", (int)-result, $"pid {pid} to {Encoding.UTF8.GetString(cwd)}");
            }
            finally
            {
                // Deleted again once the process is in it (or if it could not get there).
                if (state.DeletedCwd is not null && Native.Rmdir(cwd) != 0)
                    session.Warn($"pid {pid}: its working directory {Encoding.UTF8.GetString(cwd)}, made again, could not be deleted again: {ErrnoNames.Name(System.Runtime.InteropServices.Marshal.GetLastPInvokeError())}");
            }
        }
        // chroot after the chdir (whose path is cryo's view) and before the credentials (it needs CAP_SYS_CHROOT).
        if (info.Root.Length > 0 && !info.Root.AsSpan().SequenceEqual("/"u8))
        {
            if (info.Root.Length + 1 > scratch.Size)
                throw new InvalidOperationException($"pid {pid}: root directory path of {info.Root.Length} bytes does not fit the {scratch.Size}-byte scratch page");
            long result = sys.Invoke(InjectedCalls.Chroot, (long)scratch.WriteCString(0, info.Root));
            if (result < 0)
                throw new SysCallException("chroot (injected)", (int)-result, $"pid {pid} into {Encoding.UTF8.GetString(info.Root)}, the root directory it had");
        }
        sys.Checked("umask", InjectedCalls.Umask, info.Umask);
        foreach (int tid in process.ThreadIds)
        {
            // The personality belongs to each thread too.
            var threadSys = new RemoteSyscall(process.Tracer, tid, sys.SyscallInstruction);
            if (threadSys.Checked("personality(query)", InjectedCalls.Personality, 0xffffffff) != info.Personality)
                threadSys.Checked($"personality({info.Personality:x})", InjectedCalls.Personality, info.Personality);
        }
        sys.Checked("prctl(PR_SET_CHILD_SUBREAPER)", SyscallNumbers.Prctl, InjectedCalls.PR_SET_CHILD_SUBREAPER, info.ChildSubreaper);

        if (state.Credentials is { } credentials)
            foreach (int tid in process.ThreadIds) RestoreCredentials(process, scratch, credentials, tid);

        // A credential change resets these two, so they come after it.
        if (info.Dumpable is 0 or 1)
            sys.Checked($"prctl(PR_SET_DUMPABLE, {info.Dumpable})", SyscallNumbers.Prctl, InjectedCalls.PR_SET_DUMPABLE, info.Dumpable);
        // Dumpable 2 (suid_dumpable) cannot be set through prctl; the kernel sets it on a credential change.
        sys.Checked($"prctl(PR_SET_PDEATHSIG, {info.ParentDeathSignal})", SyscallNumbers.Prctl, InjectedCalls.PR_SET_PDEATHSIG, info.ParentDeathSignal);
        if (info.NoNewPrivileges != 0)
            foreach (int tid in process.ThreadIds)
                new RemoteSyscall(process.Tracer, tid, sys.SyscallInstruction)
                    .Checked("prctl(PR_SET_NO_NEW_PRIVS)", SyscallNumbers.Prctl, InjectedCalls.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    }

    /// <summary>
    /// Brings the process (born as root with cryo's capabilities) to the recorded credentials.
    /// Privileged steps come first: bounding-set drops and securebits need CAP_SETPCAP, groups
    /// CAP_SETGID; then gids, uids (keeping capabilities across the uid change when the image has
    /// some), then capset, ambient capabilities. Checked against /proc/PID/status at the end.
    /// </summary>
    internal static void RestoreCredentials(RestoringProcess process, RemoteScratch scratch, Credentials c, int? thread = null)
    {
        // Credentials belong to each thread: an injected setresuid changes only the thread it runs in.
        int tid = thread ?? process.Pid;
        var sys = tid == process.Pid ? process.Syscalls : new RemoteSyscall(process.Tracer, tid, process.Syscalls.SyscallInstruction);
        int pid = process.Pid;
        string statusPath = $"/proc/{pid}/task/{tid}/status";
        var before = CredentialsOf(ProcStatus.Parse(ProcFiles.ReadText(statusPath), statusPath), (uint)sys.Checked("prctl(PR_GET_SECUREBITS)", SyscallNumbers.Prctl, InjectedCalls.PR_GET_SECUREBITS));
        if (Same(before, c)) return;

        ulong missing = c.CapPermitted & ~before.CapPermitted;
        if (missing != 0)
            throw new InvalidOperationException(
                $"pid {pid}: the image has permitted capabilities 0x{missing:x} that cryo itself lacks (its bounding set is 0x{before.CapBounding:x}); they cannot be granted");

        for (int cap = 0; cap < 64; cap++)
        {
            ulong bit = 1UL << cap;
            if ((before.CapBounding & bit) != 0 && (c.CapBounding & bit) == 0)
                sys.Checked($"prctl(PR_CAPBSET_DROP, {cap})", SyscallNumbers.Prctl, InjectedCalls.PR_CAPBSET_DROP, cap);
        }

        bool uidChanges = before.EffectiveUid == 0 && (c.RealUid != 0 || c.EffectiveUid != 0 || c.SavedUid != 0);
        bool keepCaps = uidChanges && c.CapPermitted != 0 && (c.SecureBits & SecbitKeepCaps) == 0;
        uint bits = c.SecureBits | (keepCaps ? SecbitKeepCaps : 0);
        if (bits != before.SecureBits)
            sys.Checked($"prctl(PR_SET_SECUREBITS, {bits:x})", SyscallNumbers.Prctl, InjectedCalls.PR_SET_SECUREBITS, bits);

        if (!before.Groups.SequenceEqual(c.Groups))
        {
            if (c.Groups.Length * 4 > scratch.Size) throw new InvalidOperationException($"pid {pid}: {c.Groups.Length} groups do not fit the scratch page");
            var bytes = new byte[c.Groups.Length * 4];
            for (int i = 0; i < c.Groups.Length; i++) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * 4), c.Groups[i]);
            scratch.Write(0, bytes);
            sys.Checked("setgroups", InjectedCalls.Setgroups, c.Groups.Length, (long)scratch.Address);
        }
        sys.Checked($"setresgid({c.RealGid}, {c.EffectiveGid}, {c.SavedGid})", InjectedCalls.Setresgid, c.RealGid, c.EffectiveGid, c.SavedGid);
        sys.Invoke(InjectedCalls.Setfsgid, c.FsGid); // returns the previous fsgid, never an error: checked below
        sys.Checked($"setresuid({c.RealUid}, {c.EffectiveUid}, {c.SavedUid})", InjectedCalls.Setresuid, c.RealUid, c.EffectiveUid, c.SavedUid);
        sys.Invoke(InjectedCalls.Setfsuid, c.FsUid);

        // struct __user_cap_header_struct { u32 version; int pid; } + two __user_cap_data_struct { u32 effective, permitted, inheritable; }.
        var caps = new byte[8 + 24];
        BinaryPrimitives.WriteUInt32LittleEndian(caps, InjectedCalls.CapabilityVersion3);
        for (int word = 0; word < 2; word++)
        {
            int at = 8 + word * 12, shift = word * 32;
            BinaryPrimitives.WriteUInt32LittleEndian(caps.AsSpan(at), (uint)(c.CapEffective >> shift));
            BinaryPrimitives.WriteUInt32LittleEndian(caps.AsSpan(at + 4), (uint)(c.CapPermitted >> shift));
            BinaryPrimitives.WriteUInt32LittleEndian(caps.AsSpan(at + 8), (uint)(c.CapInheritable >> shift));
        }
        scratch.Write(0, caps);
        sys.Checked("capset", InjectedCalls.Capset, (long)scratch.Address, (long)scratch.Address + 8);

        sys.Checked("prctl(PR_CAP_AMBIENT_CLEAR_ALL)", SyscallNumbers.Prctl, InjectedCalls.PR_CAP_AMBIENT, InjectedCalls.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        for (int cap = 0; cap < 64; cap++)
            if ((c.CapAmbient & (1UL << cap)) != 0)
                sys.Checked($"prctl(PR_CAP_AMBIENT_RAISE, {cap})", SyscallNumbers.Prctl, InjectedCalls.PR_CAP_AMBIENT, InjectedCalls.PR_CAP_AMBIENT_RAISE, cap, 0, 0);
        if (keepCaps && (c.SecureBits & SecbitKeepCapsLocked) == 0)
            sys.Checked("prctl(PR_SET_KEEPCAPS, 0)", SyscallNumbers.Prctl, InjectedCalls.PR_SET_KEEPCAPS, 0);

        var after = CredentialsOf(ProcStatus.Parse(ProcFiles.ReadText(statusPath), statusPath), (uint)sys.Checked("prctl(PR_GET_SECUREBITS)", SyscallNumbers.Prctl, InjectedCalls.PR_GET_SECUREBITS));
        if (!Same(after, c))
            throw new InvalidOperationException($"pid {pid} tid {tid}: credentials after restore differ from the image: now {Show(after)}; image {Show(c)}");
    }

    private static bool Same(Credentials a, Credentials b) =>
        a.RealUid == b.RealUid && a.EffectiveUid == b.EffectiveUid && a.SavedUid == b.SavedUid && a.FsUid == b.FsUid
        && a.RealGid == b.RealGid && a.EffectiveGid == b.EffectiveGid && a.SavedGid == b.SavedGid && a.FsGid == b.FsGid
        && a.CapInheritable == b.CapInheritable && a.CapPermitted == b.CapPermitted && a.CapEffective == b.CapEffective
        && a.CapBounding == b.CapBounding && a.CapAmbient == b.CapAmbient && a.SecureBits == b.SecureBits
        && a.Groups.SequenceEqual(b.Groups);

    private static string Show(Credentials c) =>
        $"uids {c.RealUid}/{c.EffectiveUid}/{c.SavedUid}/{c.FsUid} gids {c.RealGid}/{c.EffectiveGid}/{c.SavedGid}/{c.FsGid} " +
        $"groups [{string.Join(',', c.Groups)}] caps inh {c.CapInheritable:x} prm {c.CapPermitted:x} eff {c.CapEffective:x} " +
        $"bnd {c.CapBounding:x} amb {c.CapAmbient:x} securebits {c.SecureBits:x}";
}
