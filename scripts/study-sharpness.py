"""Study for issue 20 (does the input carry blur beyond bicubic downsampling?): two spectral statistics of the LR
luma on training photos (data/external, centre crops), bicubic-downscaled (PyTorch's antialiased bicubic) against
blurred with 3 random blind kernels each (lambda ~ U(0.6, 5)) and subsampled.
  absolute: log10 of the power in 0.3-0.5 cycles/pixel over 0.1-0.2;
  relative: the absolute statistic of the LR image bicubic-downscaled once more, minus its own (a 1/f image is
  scale-invariant, so this is ~0 for bicubic input and grows with extra blur).
Usage: .venv/bin/python scripts/study-sharpness.py [photos=12]   (needs numpy and torch)
"""
import os
import numpy as np, torch, torch.nn.functional as F, glob, math, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_video import gaussian_kernel
def load(p):
    raw=subprocess.run(["ffmpeg","-v","error","-i",p,"-f","rawvideo","-pix_fmt","rgb24","-"],capture_output=True).stdout
    wh=subprocess.run(["ffprobe","-v","error","-show_entries","stream=width,height","-of","csv=p=0",p],capture_output=True,text=True).stdout.strip().split(",")
    w,h=int(wh[0]),int(wh[1]); return np.frombuffer(raw,np.uint8).reshape(h,w,3).astype(np.float64)/255
def luma(x): return 0.299*x[...,0]+0.587*x[...,1]+0.114*x[...,2]
def bicubic_down(x):
    t=torch.tensor(x).permute(2,0,1)[None]; return F.interpolate(t,scale_factor=0.5,mode='bicubic',antialias=True,align_corners=False)[0].permute(1,2,0).numpy()
def blur_down(x,k):
    size=k.shape[0]; r=size//2-1; h,w,_=x.shape
    p=np.pad(x,((r,size),(r,size),(0,0)),mode='reflect'); out=np.zeros((h//2,w//2,3))
    for i in range(size):
        for j in range(size): out+=k[i,j]*p[i:i+h:2,j:j+w:2][:h//2,:w//2]
    return out
def stat(y):
    y=luma(y); y=y-y.mean(); h,w=y.shape
    win=np.outer(np.hanning(h),np.hanning(w)); P=np.abs(np.fft.fft2(y*win))**2
    fy=np.fft.fftfreq(h)[:,None]; fx=np.fft.fftfreq(w)[None,:]; f=np.sqrt(fx**2+fy**2)
    hi=P[(f>0.3)&(f<0.5)].mean(); mid=P[(f>0.1)&(f<0.2)].mean()
    return math.log10(hi/mid)
rng=np.random.default_rng(0)
photos=sorted(glob.glob(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'data/external/*.png')))[:int(sys.argv[1]) if len(sys.argv)>1 else 20]
for p in photos:
    x=load(p); h,w,_=x.shape; c=min(h,w,384)//4*4; top=(h-c)//2; left=(w-c)//2; x=x[top:top+c,left:left+c]
    b=stat(bicubic_down(x))
    ks=[(rng.uniform(0.6,5),rng.uniform(0.6,5),rng.uniform(0,math.pi)) for _ in range(3)]
    bl=[stat(blur_down(x,gaussian_kernel(*k))) for k in ks]
    print(f"{p.split('/')[-1][:28]:28s} bicubic {b:+.2f}  blind {' '.join(f'{v:+.2f}(λ{k[0]:.1f},{k[1]:.1f})' for v,k in zip(bl,ks))}")
print("relative: D = stat(bicubic_down(y)) - stat(y)")
rng=np.random.default_rng(1)
for p in photos:
    x=load(p); h,w,_=x.shape; c=min(h,w,512)//8*8; top=(h-c)//2; left=(w-c)//2; x=x[top:top+c,left:left+c]
    yb=bicubic_down(x); b=stat(bicubic_down(yb))-stat(yb)
    ks=[(rng.uniform(0.6,5),rng.uniform(0.6,5),rng.uniform(0,math.pi)) for _ in range(3)]
    bl=[]
    for k in ks:
        y=blur_down(x,gaussian_kernel(*k)); bl.append(stat(bicubic_down(y))-stat(y))
    print(f"{p.split('/')[-1][:28]:28s} bicubic {b:+.2f}  blind {' '.join(f'{v:+.2f}(λ{k[0]:.1f},{k[1]:.1f})' for v,k in zip(bl,ks))}")
