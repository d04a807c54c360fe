import CFFmpeg

/// Converts between frames in FFmpeg pixel formats and `RGBImage`, applying the YCbCr matrix and range
/// that the caller states. Planar YUV of 8 to 16 bits is converted here (chroma is interpolated with
/// MPEG siting: co-sited horizontally, centred vertically); any other format goes through swscale to
/// a planar 16-bit intermediate first. One converter per pipeline stage: it keeps scratch buffers.
public final class ColourConverter: @unchecked Sendable {
    private var scaler: Scaler?
    private var scratch: Frame?

    public init() {}

    // MARK: Frame to RGB

    /// Converts a decoded frame into RGB with `matrix` and `fullRange`.
    public func rgbImage(from frame: Frame, matrix: ColourMatrix, fullRange: Bool) throws -> RGBImage {
        let format = frame.pixelFormat
        if let layout = PlanarYUVLayout(format) {
            return RGBImage(width: frame.width, height: frame.height) { out in
                YUVKernels.toRGB(frame: frame, layout: layout, matrix: matrix, fullRange: fullRange, into: out.baseAddress!)
            }
        }
        var image = RGBImage(width: frame.width, height: frame.height)
        // swscale widens 8-bit samples by shifting (255 -> 65280), so 8-bit sources keep 8-bit intermediates.
        let deep = format.bitDepth > 8
        if format.isRGBFamily {
            let planar = try convert(frame, to: deep ? AV_PIX_FMT_GBRP16LE : AV_PIX_FMT_GBRP)
            let (width, height, planeSize) = (image.width, image.height, image.planeSize)
            image.pixels.withUnsafeMutableBufferPointer { out in
                // GBRP stores G, B, R planes.
                for (source, target) in [(2, 0), (0, 1), (1, 2)] {
                    copyPlane(planar, plane: source, into: out.baseAddress! + target * planeSize, width: width, height: height)
                }
            }
            return image
        }
        if format.isGrey {
            // Grey samples are the value of every channel; through YUV, swscale would squeeze them into video range.
            let grey = try convert(frame, to: deep ? AV_PIX_FMT_GRAY16LE : AV_PIX_FMT_GRAY8)
            let (width, height, planeSize) = (image.width, image.height, image.planeSize)
            image.pixels.withUnsafeMutableBufferPointer { out in
                for target in 0..<3 { copyPlane(grey, plane: 0, into: out.baseAddress! + target * planeSize, width: width, height: height) }
            }
            return image
        }
        let intermediate = deep ? AV_PIX_FMT_YUV444P16LE : AV_PIX_FMT_YUV444P
        let planar = try convert(frame, to: intermediate)
        image.pixels.withUnsafeMutableBufferPointer { out in
            YUVKernels.toRGB(frame: planar, layout: PlanarYUVLayout(intermediate)!, matrix: matrix, fullRange: fullRange, into: out.baseAddress!)
        }
        return image
    }

    /// The alpha plane of a frame whose format has one, in [0, 1] (`width * height` values, row-major); nil for
    /// formats without alpha. Taken through swscale's planar GBRA with point sampling: a copy, no filtering.
    public func alphaPlane(from frame: Frame) throws -> [Float]? {
        let format = frame.pixelFormat
        guard format.hasAlpha else { return nil }
        let planar = try convert(frame, to: format.bitDepth > 8 ? AV_PIX_FMT_GBRAP16LE : AV_PIX_FMT_GBRAP)
        return [Float](unsafeUninitializedCapacity: frame.width * frame.height) { buffer, count in
            copyPlane(planar, plane: 3, into: buffer.baseAddress!, width: frame.width, height: frame.height)
            count = frame.width * frame.height
        }
    }

    private func convert(_ frame: Frame, to target: AVPixelFormat) throws -> Frame {
        let source = (frame.width, frame.height, frame.pixelFormat)
        let destination = (frame.width, frame.height, target)
        if scaler?.matches(source: source, target: destination) != true {
            scaler = try Scaler(from: source, to: destination, flags: SWS_POINT | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP)
            scratch = try Frame(format: target, width: frame.width, height: frame.height)
        }
        try scaler!.scale(frame, into: scratch!)
        return scratch!
    }

    private func copyPlane(_ frame: Frame, plane: Int, into target: UnsafeMutablePointer<Float>, width: Int, height: Int) {
        let base = frame.plane(plane)
        let stride = frame.stride(plane)
        let deep = frame.pixelFormat.bitDepth > 8
        let scale: Float = deep ? 1 / 65535 : 1 / 255
        for y in 0..<height {
            let out = target + y * width
            if deep {
                let row = UnsafeRawPointer(base + y * stride).assumingMemoryBound(to: UInt16.self)
                for x in 0..<width { out[x] = Float(UInt16(littleEndian: row[x])) * scale }
            } else {
                let row = base + y * stride
                for x in 0..<width { out[x] = Float(row[x]) * scale }
            }
        }
    }

    // MARK: RGB to frame

    /// Converts `image` into a new frame in the pixel format `encoder` takes, with `alpha` where that format has an
    /// alpha plane.
    public func frame(from image: RGBImage, alpha: [Float]? = nil, for encoder: Encoder, matrix: ColourMatrix, fullRange: Bool) throws -> Frame {
        try frame(from: image, alpha: alpha, format: encoder.pixelFormat, matrix: matrix, fullRange: fullRange)
    }

    /// Converts `image` into a new frame of `format` with `matrix` and `fullRange`; `alpha` (one plane, [0, 1]) fills
    /// the alpha component of formats that have one (opaque where it is nil).
    public func frame(from image: RGBImage, alpha: [Float]? = nil, format: AVPixelFormat, matrix: ColourMatrix,
                      fullRange: Bool) throws -> Frame {
        precondition(alpha == nil || alpha!.count == image.planeSize, "alpha plane of \(alpha!.count) values for a \(image.width)x\(image.height) image")
        let frame = try Frame(format: format, width: image.width, height: image.height)
        // Opaque where no alpha is given; built only for formats with alpha (video frames never pay for it).
        var opacity: [Float] { alpha ?? [Float](repeating: 1, count: image.planeSize) }
        if let layout = PlanarYUVLayout(format) {
            image.pixels.withUnsafeBufferPointer { input in
                YUVKernels.fromRGB(input.baseAddress!, frame: frame, layout: layout, matrix: matrix, fullRange: fullRange)
            }
            return frame
        }
        let deep = format.bitDepth > 8
        if format.isGrey && format.hasAlpha {
            fillGreyAlpha(frame, grey: image.grey, alpha: opacity)
            return frame
        }
        if format.isGrey {
            // Grey is written straight into the plane: the value itself where R = G = B, else BT.601 luma.
            let grey = deep ? AV_PIX_FMT_GRAY16LE : AV_PIX_FMT_GRAY8
            let plane = try format == grey ? frame : Frame(format: grey, width: image.width, height: image.height)
            let values = image.grey
            values.withUnsafeBufferPointer { fillPlane(plane, plane: 0, from: $0.baseAddress!, width: image.width, height: image.height) }
            if plane !== frame {
                try Scaler(from: (image.width, image.height, grey), to: (image.width, image.height, format), flags: SWS_POINT)
                    .scale(plane, into: frame)
            }
            return frame
        }
        let withAlpha = format.hasAlpha
        let yuv = deep ? AV_PIX_FMT_YUV444P16LE : AV_PIX_FMT_YUV444P
        let intermediateFormat = format.isRGBFamily ? (withAlpha ? (deep ? AV_PIX_FMT_GBRAP16LE : AV_PIX_FMT_GBRAP) : (deep ? AV_PIX_FMT_GBRP16LE : AV_PIX_FMT_GBRP))
                                                    : (withAlpha ? (deep ? AV_PIX_FMT_YUVA444P16LE : AV_PIX_FMT_YUVA444P) : yuv)
        let intermediate = try Frame(format: intermediateFormat, width: image.width, height: image.height)
        image.pixels.withUnsafeBufferPointer { input in
            if format.isRGBFamily {
                for (source, target) in [(0, 2), (1, 0), (2, 1)] {
                    fillPlane(intermediate, plane: target, from: input.baseAddress! + source * image.planeSize, width: image.width, height: image.height)
                }
                if withAlpha {
                    opacity.withUnsafeBufferPointer { fillPlane(intermediate, plane: 3, from: $0.baseAddress!, width: image.width, height: image.height) }
                }
            } else {
                // The YUVA intermediate's first three planes are laid out as the YUV one's; its fourth is the alpha.
                YUVKernels.fromRGB(input.baseAddress!, frame: intermediate, layout: PlanarYUVLayout(yuv)!, matrix: matrix, fullRange: fullRange)
                if withAlpha {
                    opacity.withUnsafeBufferPointer { fillPlane(intermediate, plane: 3, from: $0.baseAddress!, width: image.width, height: image.height) }
                }
            }
        }
        let converter = try Scaler(from: (image.width, image.height, intermediateFormat), to: (image.width, image.height, format),
                                   flags: SWS_POINT | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP)
        try converter.scale(intermediate, into: frame)
        return frame
    }

    /// Packed grey + alpha (`ya8`, `ya16be`, `ya16le`): swscale would take grey through YCbCr, so both samples are
    /// written here.
    private func fillGreyAlpha(_ frame: Frame, grey: [Float], alpha: [Float]) {
        let format = frame.pixelFormat
        let deep = format.bitDepth > 8
        let bigEndian = av_pix_fmt_desc_get(format).map { $0.pointee.flags & UInt64(AV_PIX_FMT_FLAG_BE) != 0 } ?? false
        let maximum: Float = deep ? 65535 : 255
        let base = frame.plane(0), stride = frame.stride(0)
        func code(_ value: Float) -> UInt16 { UInt16(min(max(value, 0), 1) * maximum + 0.5) }
        for y in 0..<frame.height {
            for x in 0..<frame.width {
                let i = y * frame.width + x
                if deep {
                    let row = UnsafeMutableRawPointer(base + y * stride).assumingMemoryBound(to: UInt16.self)
                    row[2 * x] = bigEndian ? code(grey[i]).bigEndian : code(grey[i]).littleEndian
                    row[2 * x + 1] = bigEndian ? code(alpha[i]).bigEndian : code(alpha[i]).littleEndian
                } else {
                    base[y * stride + 2 * x] = UInt8(code(grey[i]))
                    base[y * stride + 2 * x + 1] = UInt8(code(alpha[i]))
                }
            }
        }
    }

    private func fillPlane(_ frame: Frame, plane: Int, from source: UnsafePointer<Float>, width: Int, height: Int) {
        let base = frame.plane(plane)
        let stride = frame.stride(plane)
        let deep = frame.pixelFormat.bitDepth > 8
        let maximum: Float = deep ? 65535 : 255
        for y in 0..<height {
            let input = source + y * width
            if deep {
                let row = UnsafeMutableRawPointer(base + y * stride).assumingMemoryBound(to: UInt16.self)
                for x in 0..<width { row[x] = UInt16(min(max(input[x], 0), 1) * maximum + 0.5).littleEndian }
            } else {
                let row = base + y * stride
                for x in 0..<width { row[x] = UInt8(min(max(input[x], 0), 1) * maximum + 0.5) }
            }
        }
    }
}

/// The per-row arithmetic of planar YCbCr conversion, kept free of FFmpeg types beyond frame access.
enum YUVKernels {
    static func toRGB(frame: Frame, layout: PlanarYUVLayout, matrix: ColourMatrix, fullRange: Bool, into out: UnsafeMutablePointer<Float>) {
        if layout.bytesPerSample == 1 {
            toRGB(frame: frame, layout: layout, sample: UInt8.self, matrix: matrix, fullRange: fullRange, into: out)
        } else {
            toRGB(frame: frame, layout: layout, sample: UInt16.self, matrix: matrix, fullRange: fullRange, into: out)
        }
    }

    static func fromRGB(_ input: UnsafePointer<Float>, frame: Frame, layout: PlanarYUVLayout, matrix: ColourMatrix, fullRange: Bool) {
        if layout.bytesPerSample == 1 {
            fromRGB(input, frame: frame, layout: layout, sample: UInt8.self, matrix: matrix, fullRange: fullRange)
        } else {
            fromRGB(input, frame: frame, layout: layout, sample: UInt16.self, matrix: matrix, fullRange: fullRange)
        }
    }

    private static func toRGB<S: FixedWidthInteger & UnsignedInteger>(
        frame: Frame, layout: PlanarYUVLayout, sample: S.Type, matrix: ColourMatrix, fullRange: Bool,
        into out: UnsafeMutablePointer<Float>
    ) {
        let width = frame.width, height = frame.height
        let chromaWidth = (width + (1 << layout.chromaShiftX) - 1) >> layout.chromaShiftX
        let chromaHeight = (height + (1 << layout.chromaShiftY) - 1) >> layout.chromaShiftY
        let q = layout.quantisation(fullRange: fullRange)
        let (kr, kb) = matrix.lumaWeights
        let kg = 1 - kr - kb
        let crToR = 2 * (1 - kr), cbToB = 2 * (1 - kb)
        let yScale = 1 / q.lumaSpan, cScale = 1 / q.chromaSpan
        let planeSize = width * height
        let planes = (frame.plane(0), frame.plane(1), frame.plane(2))
        let strides = (frame.stride(0), frame.stride(1), frame.stride(2))
        let cbRow = UnsafeMutablePointer<Float>.allocate(capacity: chromaWidth)
        let crRow = UnsafeMutablePointer<Float>.allocate(capacity: chromaWidth)
        let cbFull = UnsafeMutablePointer<Float>.allocate(capacity: width)
        let crFull = UnsafeMutablePointer<Float>.allocate(capacity: width)
        defer { cbRow.deallocate(); crRow.deallocate(); cbFull.deallocate(); crFull.deallocate() }

        func samples(_ plane: UnsafeMutablePointer<UInt8>, _ stride: Int, _ row: Int) -> UnsafePointer<S> {
            UnsafeRawPointer(plane + row * stride).assumingMemoryBound(to: S.self)
        }

        for y in 0..<height {
            // Vertical chroma: 4:2:0 chroma sits between two luma rows, so blend 3:1 with the nearer neighbour.
            let nearRow: Int, farRow: Int, farWeight: Float
            if layout.chromaShiftY == 1 {
                nearRow = y >> 1
                farRow = (y & 1 == 0) ? max(nearRow - 1, 0) : min(nearRow + 1, chromaHeight - 1)
                farWeight = 0.25
            } else {
                nearRow = y; farRow = y; farWeight = 0
            }
            let nearWeight = 1 - farWeight
            let cbNear = samples(planes.1, strides.1, nearRow), cbFar = samples(planes.1, strides.1, farRow)
            let crNear = samples(planes.2, strides.2, nearRow), crFar = samples(planes.2, strides.2, farRow)
            for x in 0..<chromaWidth {
                cbRow[x] = ((Float(cbNear[x]) * nearWeight + Float(cbFar[x]) * farWeight) - q.chromaOffset) * cScale
                crRow[x] = ((Float(crNear[x]) * nearWeight + Float(crFar[x]) * farWeight) - q.chromaOffset) * cScale
            }
            let cb: UnsafeMutablePointer<Float>, cr: UnsafeMutablePointer<Float>
            if layout.chromaShiftX == 1 {
                // Co-sited horizontally: even pixels take the sample, odd pixels the mean of both neighbours.
                for x in 0..<width {
                    let left = x >> 1
                    if x & 1 == 0 {
                        cbFull[x] = cbRow[left]; crFull[x] = crRow[left]
                    } else {
                        let right = min(left + 1, chromaWidth - 1)
                        cbFull[x] = 0.5 * (cbRow[left] + cbRow[right])
                        crFull[x] = 0.5 * (crRow[left] + crRow[right])
                    }
                }
                cb = cbFull; cr = crFull
            } else {
                cb = cbRow; cr = crRow
            }
            let luma = samples(planes.0, strides.0, y)
            let red = out + y * width, green = red + planeSize, blue = green + planeSize
            for x in 0..<width {
                let l = (Float(luma[x]) - q.lumaOffset) * yScale
                let r = l + crToR * cr[x]
                let b = l + cbToB * cb[x]
                let g = (l - kr * r - kb * b) / kg
                red[x] = min(max(r, 0), 1)
                green[x] = min(max(g, 0), 1)
                blue[x] = min(max(b, 0), 1)
            }
        }
    }

    private static func fromRGB<S: FixedWidthInteger & UnsignedInteger>(
        _ input: UnsafePointer<Float>, frame: Frame, layout: PlanarYUVLayout, sample: S.Type, matrix: ColourMatrix, fullRange: Bool
    ) {
        let width = frame.width, height = frame.height
        let chromaWidth = (width + (1 << layout.chromaShiftX) - 1) >> layout.chromaShiftX
        let chromaHeight = (height + (1 << layout.chromaShiftY) - 1) >> layout.chromaShiftY
        let q = layout.quantisation(fullRange: fullRange)
        let maximum = Float((1 << layout.bitDepth) - 1)
        let (kr, kb) = matrix.lumaWeights
        let kg = 1 - kr - kb
        let cbFromB = 1 / (2 * (1 - kb)), crFromR = 1 / (2 * (1 - kr))
        let planeSize = width * height
        let planes = (frame.plane(0), frame.plane(1), frame.plane(2))
        let strides = (frame.stride(0), frame.stride(1), frame.stride(2))
        let rowsPerChroma = 1 << layout.chromaShiftY
        let cbRows = UnsafeMutablePointer<Float>.allocate(capacity: width * 2)
        let crRows = UnsafeMutablePointer<Float>.allocate(capacity: width * 2)
        defer { cbRows.deallocate(); crRows.deallocate() }

        @inline(__always) func quantise(_ value: Float, _ offset: Float, _ span: Float) -> S {
            S(truncatingIfNeeded: Int32(min(max(value * span + offset + 0.5, 0), maximum)))
        }

        for chromaY in 0..<chromaHeight {
            let firstRow = chromaY * rowsPerChroma
            let rows = min(rowsPerChroma, height - firstRow)
            for r in 0..<rows {
                let y = firstRow + r
                let red = input + y * width, green = red + planeSize, blue = green + planeSize
                let luma = UnsafeMutableRawPointer(planes.0 + y * strides.0).assumingMemoryBound(to: S.self)
                let cb = cbRows + r * width, cr = crRows + r * width
                for x in 0..<width {
                    let l = kr * red[x] + kg * green[x] + kb * blue[x]
                    luma[x] = quantise(l, q.lumaOffset, q.lumaSpan)
                    cb[x] = (blue[x] - l) * cbFromB
                    cr[x] = (red[x] - l) * crFromR
                }
            }
            if rows == 2 {
                for x in 0..<width {
                    cbRows[x] = 0.5 * (cbRows[x] + cbRows[width + x])
                    crRows[x] = 0.5 * (crRows[x] + crRows[width + x])
                }
            }
            let cbOut = UnsafeMutableRawPointer(planes.1 + chromaY * strides.1).assumingMemoryBound(to: S.self)
            let crOut = UnsafeMutableRawPointer(planes.2 + chromaY * strides.2).assumingMemoryBound(to: S.self)
            if layout.chromaShiftX == 1 {
                // A [1 2 1] filter centred on the even pixel the chroma sample is co-sited with.
                for x in 0..<chromaWidth {
                    let centre = 2 * x, left = max(centre - 1, 0), right = min(centre + 1, width - 1)
                    let cb = 0.25 * (cbRows[left] + 2 * cbRows[centre] + cbRows[right])
                    let cr = 0.25 * (crRows[left] + 2 * crRows[centre] + crRows[right])
                    cbOut[x] = quantise(cb, q.chromaOffset, q.chromaSpan)
                    crOut[x] = quantise(cr, q.chromaOffset, q.chromaSpan)
                }
            } else {
                for x in 0..<width {
                    cbOut[x] = quantise(cbRows[x], q.chromaOffset, q.chromaSpan)
                    crOut[x] = quantise(crRows[x], q.chromaOffset, q.chromaSpan)
                }
            }
        }
    }
}
