using System.Runtime.InteropServices;
using Cryo.Interop;
using Cryo.Restore;
using Cryo.Proc;
using Cryo.Tracing;

namespace Cryo.Check;

/// <summary>Probes of memory access: process_vm_readv/writev, /proc/PID/mem, pagemap, soft-dirty, the vDSO layout, memfd.</summary>
internal static class MemoryProbes
{
    /// <summary>process_vm_readv of the helper's [vdso] (the page cryo finds its syscall site in).</summary>
    public static ProbeOutcome ProcessVmReadv()
    {
        using var target = ProbeTarget.Start();
        var vdso = ProcMaps.Find(ProcMaps.Read(target.Pid), "[vdso]") ?? throw new InvalidOperationException("the helper has no [vdso]");
        using var memory = new RemoteMemory(target.Pid);
        Span<byte> header = stackalloc byte[4];
        memory.Read(vdso.Start, header);
        return header.SequenceEqual("\u007fELF"u8)
            ? ProbeOutcome.Ok($"read the helper's [vdso] ELF header at {vdso.Start:x}")
            : ProbeOutcome.Missing($"read {Convert.ToHexString(header)} at the helper's [vdso], not an ELF header");
    }

    /// <summary>process_vm_writev into the helper's stack (the same bytes back); restore falls back to /proc/PID/mem without it.</summary>
    public static unsafe ProbeOutcome ProcessVmWritev()
    {
        using var target = ProbeTarget.Start();
        var stack = ProcMaps.Find(ProcMaps.Read(target.Pid), "[stack]") ?? throw new InvalidOperationException("the helper has no [stack]");
        using var memory = new RemoteMemory(target.Pid);
        ulong address = stack.End - 4096;
        var bytes = new byte[64];
        memory.Read(address, bytes);
        fixed (byte* data = bytes)
        {
            var local = new IoVec((ulong)data, 64);
            var remote = new IoVec(address, 64);
            nint written = Native.ProcessVmWritev(target.Pid, &local, 1, &remote, 1, 0);
            if (written != 64) return ProbeOutcome.Degraded($"process_vm_writev: {(written < 0 ? CheckNative.LastError() : $"{written} bytes")}; restore writes pages through /proc/PID/mem");
        }
        return ProbeOutcome.Ok("wrote 64 bytes (unchanged) into the helper's stack");
    }

    /// <summary>
    /// userfaultfd with UFFDIO_COPY, as restore fills anonymous memory (Restore/UffdFill.cs): a
    /// page of a fresh anonymous mapping of cryo's own, registered for missing pages, gets a
    /// pattern copied in; reading it back must show the pattern.
    /// </summary>
    public static unsafe ProbeOutcome UffdCopy()
    {
        const string fallback = "restore writes pages with process_vm_writev";
        long fd = Native.Syscall(UffdFill.UserfaultfdCall, UffdFill.UserfaultfdFlags);
        if (fd < 0) return ProbeOutcome.Missing($"userfaultfd: {CheckNative.LastError()}; {fallback}");
        try
        {
            if (UffdFill.Handshake((int)fd) is null) return ProbeOutcome.Missing($"UFFDIO_API: {CheckNative.LastError()}; {fallback}");
            int page = Environment.SystemPageSize;
            nint area = CheckNative.MapAnonymous((nuint)page * 2);
            try
            {
                if (!UffdFill.RegisterRange((int)fd, (ulong)area, (ulong)page * 2))
                    return ProbeOutcome.Missing($"UFFDIO_REGISTER (missing mode, anonymous memory): {CheckNative.LastError()}; {fallback}");
                var pattern = new byte[page];
                for (int i = 0; i < page; i++) pattern[i] = (byte)(i * 13 + 5);
                long copied;
                fixed (byte* source = pattern) copied = UffdFill.Copy((int)fd, (nint)source, (ulong)area, page);
                if (copied != page) return ProbeOutcome.Missing($"UFFDIO_COPY copied {copied} of {page} bytes: {CheckNative.LastError()}; {fallback}");
                UffdFill.Unregister(Environment.ProcessId, (int)fd, (ulong)area, (ulong)page * 2);
                if (!new ReadOnlySpan<byte>((void*)area, page).SequenceEqual(pattern))
                    return ProbeOutcome.Degraded($"UFFDIO_COPY reported {page} bytes, but the page does not hold them; {fallback}");
                return ProbeOutcome.Ok("copied a page into registered anonymous memory and read it back");
            }
            finally
            {
                Native.Munmap(area, (nuint)page * 2);
            }
        }
        finally
        {
            Native.Close((int)fd);
        }
    }

    /// <summary>
    /// pwrite through /proc/PID/mem into a read-only mapping of the helper (its ELF header, unchanged
    /// bytes): how cryo writes pages the target cannot write itself. Kernels built with
    /// PROC_MEM_FORCE_PTRACE (or booted with proc_mem.force_override=ptrace) allow that only to the
    /// thread that traces the process: then the write is retried from a tracer thread.
    /// </summary>
    public static ProbeOutcome ProcPidMem()
    {
        using var target = ProbeTarget.Start();
        var readOnly = ProcMaps.Read(target.Pid).FirstOrDefault(m => m.IsFileBacked && m.Offset == 0 && !m.Protection.HasFlag(MappingProtection.Write))
            ?? throw new InvalidOperationException("the helper has no file mapping");
        using var memory = new RemoteMemory(target.Pid);
        var bytes = new byte[16];
        memory.Read(readOnly.Start, bytes);
        string where = $"at {readOnly.Start:x} ({Path.GetFileName(readOnly.Path)}, read-only)";
        try
        {
            memory.Write(readOnly.Start, bytes);
            return ProbeOutcome.Ok($"wrote 16 bytes (unchanged) {where} through /proc/PID/mem, untraced");
        }
        catch (SysCallException e) when (e.Errno == ErrnoNames.EIO)
        {
            using var tracer = new Tracer("cryo-check");
            tracer.Seize(target.Pid);
            tracer.Interrupt(target.Pid);
            try
            {
                tracer.Run(() =>
                {
                    using var traced = new RemoteMemory(target.Pid);
                    traced.Write(readOnly.Start, bytes);
                });
            }
            catch (SysCallException again)
            {
                return ProbeOutcome.Missing($"/proc/PID/mem refuses writes to read-only pages {where}: {e.ErrnoName} untraced, {again.ErrnoName} from the tracer thread");
            }
            tracer.Detach(target.Pid);
            return ProbeOutcome.Degraded(
                $"/proc/PID/mem writes to read-only pages {where} work only from the tracing thread (EIO otherwise: proc_mem.force_override=ptrace); " +
                "the kernel applies the same rule to reads of PROT_NONE areas");
        }
    }

    /// <summary>/proc/self/pagemap: a written anonymous page is present (bit 63), not a file page (bit 61), with its frame number.</summary>
    public static unsafe ProbeOutcome Pagemap()
    {
        nuint page = (nuint)Environment.SystemPageSize;
        using var mapping = new MappingHolder(CheckNative.MapAnonymous(page * 2), page * 2);
        *(byte*)mapping.Address = 1;
        using var pagemap = new FdHolder(Native.OpenOrThrow("/proc/self/pagemap", Native.O_RDONLY | Native.O_CLOEXEC));
        var touched = new PagemapEntry(CheckNative.PagemapEntry(pagemap.Fd, mapping.Address));
        var untouched = new PagemapEntry(CheckNative.PagemapEntry(pagemap.Fd, mapping.Address + (nint)page));
        if (!touched.Present || touched.FileOrSharedAnon || untouched.Present)
            return ProbeOutcome.Missing($"written page: 0x{touched.Raw:x16}, untouched page: 0x{untouched.Raw:x16} (expected bit 63 only on the first)");
        return ProbeOutcome.Ok(touched.Frame != 0
            ? $"present bit set on a written page, frame numbers visible"
            : "present bit set on a written page (frame numbers hidden)");
    }

    /// <summary>Soft-dirty: after writing "4" to /proc/self/clear_refs bit 55 of a page is clear, after a write it is set.</summary>
    public static unsafe ProbeOutcome SoftDirty()
    {
        nuint page = (nuint)Environment.SystemPageSize;
        using var mapping = new MappingHolder(CheckNative.MapAnonymous(page), page);
        *(byte*)mapping.Address = 1;
        using var pagemap = new FdHolder(Native.OpenOrThrow("/proc/self/pagemap", Native.O_RDONLY | Native.O_CLOEXEC));
        try { File.WriteAllText("/proc/self/clear_refs", "4"); }
        catch (IOException e) { return ProbeOutcome.Missing($"writing 4 to /proc/self/clear_refs: {e.Message}"); }
        bool afterClear = new PagemapEntry(CheckNative.PagemapEntry(pagemap.Fd, mapping.Address)).SoftDirty;
        *(byte*)mapping.Address = 2;
        bool afterWrite = new PagemapEntry(CheckNative.PagemapEntry(pagemap.Fd, mapping.Address)).SoftDirty;
        if (!afterWrite) return ProbeOutcome.Missing("bit 55 never set after a write (kernel without CONFIG_MEM_SOFT_DIRTY)");
        if (afterClear) return ProbeOutcome.Degraded("bit 55 stayed set after clear_refs 4");
        return ProbeOutcome.Ok("clear_refs 4 clears bit 55, a write sets it again");
    }

    /// <summary>
    /// The layout of [vvar], [vvar_vclock] and [vdso] in this process: sizes, order, adjacency and
    /// where they sit (above the stack or in the mmap area); and a `syscall` instruction in [vdso],
    /// which every injection needs. The layout string is what an image's kernel mappings must match.
    /// </summary>
    public static unsafe ProbeOutcome VdsoLayout()
    {
        var maps = ProcMaps.Read(Environment.ProcessId);
        var vdso = ProcMaps.Find(maps, "[vdso]");
        if (vdso is null) return ProbeOutcome.Missing("no [vdso] mapping: cryo injects its syscalls through the vDSO's syscall instruction");
        string layout = Layout(maps);
        var code = new ReadOnlySpan<byte>((void*)vdso.Start, (int)vdso.Length);
        int site = code.IndexOf([(byte)0x0f, (byte)0x05]);
        if (site < 0) return ProbeOutcome.Missing($"{layout}; no syscall instruction (0f 05) in [vdso]");
        var stack = ProcMaps.Find(maps, "[stack]");
        var kernel = maps.Where(m => m.Path is "[vvar]" or "[vvar_vclock]" or "[vdso]").OrderBy(m => m.Start).ToList();
        bool adjacent = kernel.Zip(kernel.Skip(1)).All(pair => pair.First.End == pair.Second.Start);
        string place = stack is not null && vdso.Start > stack.End ? "above the stack" : "in the mmap area";
        return ProbeOutcome.Ok($"{layout}{(adjacent ? "" : " (not adjacent)")}, {place}; syscall at [vdso]+{site:x}");
    }

    /// <summary>"[vvar] 0x4000, [vvar_vclock] 0x2000, [vdso] 0x2000" in address order.</summary>
    internal static string Layout(IEnumerable<MemoryMapping> maps) =>
        string.Join(", ", maps.Where(m => m.Path is "[vvar]" or "[vvar_vclock]" or "[vdso]").OrderBy(m => m.Start).Select(m => $"{m.Path} 0x{m.Length:x}"));

    /// <summary>memfd_create: the descriptor links to "/memfd:NAME (deleted)" and holds what was written.</summary>
    /// <summary>
    /// MEMBARRIER_CMD_GET_REGISTRATIONS (6.3+), asked in cryo itself: the checkpoint reads a
    /// process's membarrier registrations with it; before 6.3 it tries each private expedited
    /// command instead, and a global expedited registration is not seen.
    /// </summary>
    public static ProbeOutcome MembarrierRegistrations()
    {
        long registered = Native.Syscall(Interop.InjectedCalls.Membarrier, Interop.InjectedCalls.MEMBARRIER_CMD_GET_REGISTRATIONS, 0);
        return registered >= 0
            ? ProbeOutcome.Ok($"MEMBARRIER_CMD_GET_REGISTRATIONS answers 0x{registered:x} for cryo")
            : ProbeOutcome.Degraded($"MEMBARRIER_CMD_GET_REGISTRATIONS: {CheckNative.LastError()} (before 6.3); the private expedited registrations are found by trying their commands, a global expedited one is not saved");
    }

    public static unsafe ProbeOutcome MemfdCreate()
    {
        var name = "cryo-check\0"u8;
        long fd;
        fixed (byte* n = name) fd = Native.Syscall(CheckNative.SysMemfdCreate, (long)n, 1 /* MFD_CLOEXEC */);
        if (fd < 0) return ProbeOutcome.Missing($"memfd_create: {CheckNative.LastError()}");
        using var holder = new FdHolder((int)fd);
        CheckNative.WriteAll(holder.Fd, "data"u8);
        string link = CheckNative.Readlink($"/proc/self/fd/{fd}");
        return link.StartsWith("/memfd:cryo-check", StringComparison.Ordinal)
            ? ProbeOutcome.Ok($"memfd_create works ({link})")
            : ProbeOutcome.Degraded($"memfd_create works but the fd links to '{link}'");
    }
}
