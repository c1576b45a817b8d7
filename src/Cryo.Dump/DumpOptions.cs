namespace Cryo.Dump;

public enum DumpMode { Tree, Json, Normalize, Summary, Verify }

/// <summary>What the user asked cryo-dump for.</summary>
public sealed record DumpOptions(DumpMode Mode, IReadOnlySet<string>? Tags, IReadOnlyList<(string From, string To)> PathAliases);
