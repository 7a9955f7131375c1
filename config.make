# nginx compiles every source with $(CC) and the C flags; the C++ sources
# also need the language level and hidden symbols, so that the .so exports
# only the module object.
for pbx_src in $PBX_WEBHOOK_CORE_SRCS $PBX_WEBHOOK_NGX_SRCS
do
    pbx_obj="$NGX_OBJS/addon/`basename \`dirname $pbx_src\``/`basename $pbx_src .cpp`.o"
    echo "$pbx_obj: CFLAGS += -std=c++17 -fvisibility=hidden -fvisibility-inlines-hidden" >> $NGX_MAKEFILE
done
