using System.Collections.Immutable;

namespace Cryo.Proc;

/// <summary>/proc/PID/status: the fields the engine uses by name, every field raw in <see cref="Fields"/>.</summary>
internal sealed record ProcessStatus(
    string Name,
    int Umask,
    char State,
    int Tgid,
    int Pid,
    int ParentPid,
    int TracerPid,
    ImmutableArray<int> Uids,
    ImmutableArray<int> Gids,
    ImmutableArray<int> NamespaceTgids,
    ImmutableArray<int> NamespacePids,
    int Threads,
    ulong SigPending,
    ulong SharedSigPending,
    ulong SigBlocked,
    ulong SigIgnored,
    ulong SigCaught,
    ulong CapInheritable,
    ulong CapPermitted,
    ulong CapEffective,
    ulong CapBounding,
    ulong CapAmbient,
    bool NoNewPrivs,
    int SeccompMode,
    ImmutableDictionary<string, string> Fields);

/// <summary>Parser of /proc/PID/status ("Key:\tvalue" lines).</summary>
internal static class ProcStatus
{
    public static ProcessStatus Read(int pid) => Parse(ProcFiles.ReadText(pid, "status"), ProcFiles.PathOf(pid, "status"));

    public static ProcessStatus Parse(string text, string file = "status")
    {
        var fields = ImmutableDictionary.CreateBuilder<string, string>();
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            int colon = line.IndexOf(':');
            if (colon <= 0) continue;
            fields[line[..colon].ToString()] = line[(colon + 1)..].Trim().ToString();
        }

        string Get(string key) =>
            fields.TryGetValue(key, out var value) ? value : throw new ProcFormatException(file, $"no '{key}' field");
        // Fields that older kernels lack or that depend on configuration get a neutral default.
        string GetOr(string key, string fallback) => fields.TryGetValue(key, out var value) ? value : fallback;
        int Int(string key) => (int)ProcFiles.ParseLong(Get(key), file, key);
        ulong Hex(string key) => ProcFiles.ParseHex(Get(key), file, key);
        ImmutableArray<int> Ints(string key, string fallback) =>
            [.. GetOr(key, fallback).Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)
                .Select(v => (int)ProcFiles.ParseLong(v, file, key))];

        int pid = Int("Pid");
        return new ProcessStatus(
            Name: Get("Name"),
            Umask: Convert.ToInt32(GetOr("Umask", "0022"), 8),
            State: Get("State")[0],
            Tgid: Int("Tgid"),
            Pid: pid,
            ParentPid: Int("PPid"),
            TracerPid: Int("TracerPid"),
            Uids: Ints("Uid", ""),
            Gids: Ints("Gid", ""),
            NamespaceTgids: Ints("NStgid", Get("Tgid")),
            NamespacePids: Ints("NSpid", Get("Pid")),
            Threads: Int("Threads"),
            SigPending: Hex("SigPnd"),
            SharedSigPending: Hex("ShdPnd"),
            SigBlocked: Hex("SigBlk"),
            SigIgnored: Hex("SigIgn"),
            SigCaught: Hex("SigCgt"),
            CapInheritable: Hex("CapInh"),
            CapPermitted: Hex("CapPrm"),
            CapEffective: Hex("CapEff"),
            CapBounding: Hex("CapBnd"),
            CapAmbient: ProcFiles.ParseHex(GetOr("CapAmb", "0"), file, "CapAmb"),
            NoNewPrivs: GetOr("NoNewPrivs", "0") == "1",
            SeccompMode: (int)ProcFiles.ParseLong(GetOr("Seccomp", "0"), file, "Seccomp"),
            Fields: fields.ToImmutable());
    }
}
