using System.Globalization;
using System.Text;

namespace Cryo.Format;

/// <summary>Prints field values for humans and for the golden (normalised) form.</summary>
public static class ItemFieldFormatter
{
    /// <summary>Bytes as text: printable ASCII stays, anything else becomes \xNN.</summary>
    public static string EscapeBytes(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder(bytes.Length);
        foreach (byte b in bytes)
        {
            if (b >= 0x20 && b < 0x7F && b != '\\' && b != '"') sb.Append((char)b);
            else sb.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}");
        }
        return sb.ToString();
    }

    /// <summary>The digest of a blob shown by tools: its CRC-32C, which any reader of the format already has.</summary>
    public static string BlobDigest(ReadOnlySpan<byte> data) => $"crc32c:{Crc32C.Compute(data):x8}";

    public static ReadOnlySpan<byte> BlobSpan(object value) => value switch
    {
        byte[] a => a,
        ReadOnlyMemory<byte> m => m.Span,
        _ => throw new ArgumentException($"not a blob: {value.GetType()}"),
    };

    /// <summary>One value for the plain text tree.</summary>
    public static string Plain(ItemField f) => f.Kind switch
    {
        FieldKind.Text => $"\"{EscapeBytes(BlobSpan(f.Value))}\"",
        FieldKind.Blob or FieldKind.Data => $"<{BlobSpan(f.Value).Length} bytes {BlobDigest(BlobSpan(f.Value))}>",
        FieldKind.Flags or FieldKind.Address => $"0x{Convert.ToUInt64(f.Value, CultureInfo.InvariantCulture):x}",
        FieldKind.Volatile when f.Value is byte[] text => $"\"{EscapeBytes(text)}\"",
        FieldKind.Volatile when f.Value is ReadOnlyMemory<byte> blob => $"<{blob.Length} bytes {BlobDigest(blob.Span)}>",
        FieldKind.Volatile when f.Value is IReadOnlyList<IReadOnlyList<ItemField>> list => $"[{list.Count}]",
        FieldKind.Volatile => $"0x{Convert.ToUInt64(f.Value, CultureInfo.InvariantCulture):x}",
        FieldKind.List => $"[{((IReadOnlyList<IReadOnlyList<ItemField>>)f.Value).Count}]",
        _ => Convert.ToString(f.Value, CultureInfo.InvariantCulture)!,
    };
}
