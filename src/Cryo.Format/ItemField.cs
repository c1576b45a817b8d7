namespace Cryo.Format;

/// <summary>What a field's value means, which decides how tools print and normalise it.</summary>
public enum FieldKind
{
    /// <summary>A count, size or other stable number.</summary>
    Number,
    /// <summary>A bit set or enumeration printed in hex; stable.</summary>
    Flags,
    /// <summary>A process, thread, group or session id: volatile between runs.</summary>
    Pid,
    /// <summary>A virtual address: volatile (ASLR).</summary>
    Address,
    /// <summary>An inode, device number or pipe id: volatile.</summary>
    Inode,
    /// <summary>A time: volatile.</summary>
    Time,
    /// <summary>A byte string (a path, a name), printed escaped.</summary>
    Text,
    /// <summary>Opaque bytes whose contents vary between runs (memory, FPU state): the golden form keeps only their length.</summary>
    Blob,
    /// <summary>Bytes whose contents are part of what is checked (pipe data): the golden form keeps length and hash.</summary>
    Data,
    /// <summary>A list of records, each a list of fields.</summary>
    List,
    /// <summary>A value that depends on the machine or run (a register, the auxiliary vector): volatile. A number, a byte string or a list.</summary>
    Volatile,
}

/// <summary>
/// One decoded field of an item, for tools (cryo-dump, the Kaitai cross-check). The value is a
/// <see cref="ulong"/>, <see cref="long"/>, <see cref="byte"/>[] (Text, Blob), <see cref="ReadOnlyMemory{T}"/> of
/// bytes (Blob), or an <see cref="IReadOnlyList{T}"/> of field lists (List).
/// </summary>
public sealed record ItemField(string Name, FieldKind Kind, object Value)
{
    public static ItemField Num(string name, ulong v) => new(name, FieldKind.Number, v);
    public static ItemField Num(string name, long v) => new(name, FieldKind.Number, v);
    public static ItemField Hex(string name, ulong v) => new(name, FieldKind.Flags, v);
    public static ItemField Pid(string name, int v) => new(name, FieldKind.Pid, (long)v);
    public static ItemField Addr(string name, ulong v) => new(name, FieldKind.Address, v);
    public static ItemField Ino(string name, ulong v) => new(name, FieldKind.Inode, v);
    public static ItemField Time(string name, long v) => new(name, FieldKind.Time, v);
    public static ItemField Text(string name, byte[] v) => new(name, FieldKind.Text, v);
    public static ItemField Blob(string name, ReadOnlyMemory<byte> v) => new(name, FieldKind.Blob, v);
    public static ItemField Data(string name, ReadOnlyMemory<byte> v) => new(name, FieldKind.Data, v);
    public static ItemField Vol(string name, ulong v) => new(name, FieldKind.Volatile, v);
    public static ItemField List(string name, IReadOnlyList<IReadOnlyList<ItemField>> v) => new(name, FieldKind.List, v);
}
