using System.Globalization;
using Cryo.Proc;

namespace Cryo.Checkpoint;

/// <summary>
/// The process tree below a pid as /proc shows it: the children of every thread
/// (/proc/PID/task/TID/children) recursively, in depth-first pre-order (a parent before its
/// children; siblings by start time, then pid, so the order is the order of their creation).
/// </summary>
internal static class TreeWalk
{
    public static List<int> PreOrder(int root)
    {
        var order = new List<int>();
        var seen = new HashSet<int>();
        Visit(root, order, seen);
        return order;
    }

    private static void Visit(int pid, List<int> order, HashSet<int> seen)
    {
        if (!seen.Add(pid)) return;
        order.Add(pid);
        var children = new List<(ulong Start, int Pid)>();
        foreach (int child in ChildrenOf(pid))
            if (TryStat(child) is { } stat) children.Add((stat.StartTime, child));
        children.Sort();
        foreach (var (_, child) in children) Visit(child, order, seen);
    }

    /// <summary>The children of every thread of <paramref name="pid"/>; none if it has ended.</summary>
    public static List<int> ChildrenOf(int pid)
    {
        var result = new List<int>();
        string[] tasks;
        try { tasks = Directory.GetDirectories($"/proc/{pid}/task"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return result; }
        foreach (string task in tasks)
        {
            string text;
            try { text = File.ReadAllText(Path.Combine(task, "children")); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            foreach (string word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                result.Add(int.Parse(word, CultureInfo.InvariantCulture));
        }
        return result;
    }

    /// <summary>/proc/PID/stat, or null once the process is gone (reaped).</summary>
    public static ProcessStat? TryStat(int pid)
    {
        try { return ProcStat.Read(pid); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ProcFormatException) { return null; }
    }

    /// <summary>
    /// Refuses a tree in which two processes share what clone(2) lets them share (CLONE_VM,
    /// CLONE_FILES, CLONE_FS, CLONE_SIGHAND; vfork shares memory until the child execs): a
    /// restore makes each process its own, and a program that relies on the sharing (one process
    /// writes, the other waits to see it) would hang or go wrong after it without a word.
    /// </summary>
    public static void RefuseSharing(IReadOnlyList<int> pids)
    {
        (int Type, string What, string How)[] kinds =
        [
            (Interop.Native.KCMP_VM, "its memory", "clone with CLONE_VM, or vfork before the child's exec"),
            (Interop.Native.KCMP_FILES, "its descriptor table", "clone with CLONE_FILES"),
            (Interop.Native.KCMP_FS, "its working directory, root and umask", "clone with CLONE_FS"),
            (Interop.Native.KCMP_SIGHAND, "its signal handlers", "clone with CLONE_SIGHAND"),
        ];
        // kcmp orders the objects: sorted by it, processes that share one stand side by side.
        foreach (var (type, what, how) in kinds)
        {
            var sorted = pids.ToList();
            sorted.Sort((a, b) => a == b ? 0 : Interop.Native.CompareKernelObjects(a, b, type, $"pid {a} and pid {b}"));
            for (int i = 1; i < sorted.Count; i++)
                if (Interop.Native.CompareKernelObjects(sorted[i - 1], sorted[i], type, $"pid {sorted[i - 1]} and pid {sorted[i]}") == 0)
                {
                    var (first, second) = (Math.Min(sorted[i - 1], sorted[i]), Math.Max(sorted[i - 1], sorted[i]));
                    throw new UnsupportedResourceException(second, what,
                        $"it shares it with pid {first} ({how}), which cryo does not restore yet: each process would come back with its own");
                }
        }
    }

    public static int TaskCount(int pid)
    {
        try { return Directory.GetDirectories($"/proc/{pid}/task").Length; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return 0; }
    }
}
