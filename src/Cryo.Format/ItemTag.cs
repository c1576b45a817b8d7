using System.Buffers.Binary;
using System.Text;

namespace Cryo.Format;

/// <summary>
/// A four-character item tag such as <c>PINF</c>, stored as four ASCII bytes in file order.
/// Tags are printable ASCII (0x20..0x7E) so that a hex dump of a file stays readable.
/// </summary>
public readonly record struct ItemTag
{
    private readonly uint _value; // the four bytes as they stand in the file, read little-endian

    private ItemTag(uint value) => _value = value;

    public static ItemTag FromBytes(ReadOnlySpan<byte> four) => new(BinaryPrimitives.ReadUInt32LittleEndian(four));

    public static ItemTag Parse(string text)
    {
        if (text.Length != 4 || text.Any(c => c < 0x20 || c > 0x7E))
            throw new ArgumentException($"an item tag is four printable ASCII characters, not '{text}'", nameof(text));
        return FromBytes(Encoding.ASCII.GetBytes(text));
    }

    public bool IsPrintable
    {
        get
        {
            for (int i = 0; i < 4; i++)
            {
                uint c = (_value >> (8 * i)) & 0xFF;
                if (c < 0x20 || c > 0x7E) return false;
            }
            return true;
        }
    }

    public void WriteTo(Span<byte> four) => BinaryPrimitives.WriteUInt32LittleEndian(four, _value);

    public override string ToString()
    {
        Span<byte> b = stackalloc byte[4];
        WriteTo(b);
        if (IsPrintable) return Encoding.ASCII.GetString(b);
        return $"0x{b[0]:x2}{b[1]:x2}{b[2]:x2}{b[3]:x2}";
    }
}
