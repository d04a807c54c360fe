#ifndef ONSR_CFFMPEG_SHIM_H
#define ONSR_CFFMPEG_SHIM_H

#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libavutil/opt.h>
#include <libavutil/display.h>
#include <libavutil/mathematics.h>
#include <libavutil/video_enc_params.h>
#include <libavutil/mastering_display_metadata.h>
#include <libswscale/swscale.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersrc.h>
#include <libavfilter/buffersink.h>
#include <errno.h>

/* Function-like and compound-literal macros do not import into Swift; these re-export them. */

static inline int onsr_averror(int posix_errno) { return AVERROR(posix_errno); }
static inline int onsr_averror_eof(void) { return AVERROR_EOF; }
static inline int onsr_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int onsr_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int64_t onsr_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline AVRational onsr_time_base_q(void) { return AV_TIME_BASE_Q; }

/// The block parameters of block idx (av_video_enc_params_block, whose av_assert0 Swift does not import).
static inline AVVideoBlockParams *onsr_video_enc_params_block(AVVideoEncParams *par, unsigned int idx) {
    return (AVVideoBlockParams *)((uint8_t *)par + par->blocks_offset + (size_t)idx * par->block_size);
}

/// Writes the text for an FFmpeg error code into buf (av_err2str without its compound literal).
static inline const char *onsr_err2str(int code, char *buf, size_t size) {
    return av_make_error_string(buf, size, code);
}

#endif
