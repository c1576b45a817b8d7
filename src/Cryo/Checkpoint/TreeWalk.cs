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

    public static int TaskCount(int pid)
    {
        try { return Directory.GetDirectories($"/proc/{pid}/task").Length; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return 0; }
    }
}
